/**
 * Worker-thread side of the C2PA pool: one engine per thread, signing and reading requests
 * that the pool sends. See pool.ts.
 */
import { parentPort, workerData } from "node:worker_threads";
import { isHallmarkError } from "../../errors/index.js";
import { createC2pa } from "./c2pa.js";
import { credentialsFromPortable, type PortableCredentials } from "./credentials.js";
import type { TsaConfig } from "./tsa.js";

export interface WorkerInit {
  portable: PortableCredentials;
  trustAnchorsPem: string;
  tsa?: TsaConfig;
  maxBytes?: number;
  maxPixels?: number;
  reserveSize: number;
  verifyAfterSign?: boolean;
}

export type WorkerCall =
  | { op: "sign"; image: unknown; spec: unknown }
  | { op: "read"; bytes: Uint8Array; mediaType?: string };

export type WorkerRequest = WorkerCall & { id: number };

const init = workerData as WorkerInit;
const port = parentPort!;
const c2pa = await createC2pa({
  credentials: credentialsFromPortable(init.portable),
  trustAnchorsPem: init.trustAnchorsPem || undefined,
  tsa: init.tsa,
  maxBytes: init.maxBytes,
  maxPixels: init.maxPixels,
  reserveSize: init.reserveSize,
  verifyAfterSign: init.verifyAfterSign,
  log: (level, message, fields) => port.postMessage({ log: [level, message, fields] }),
});

port.on("message", async (request: WorkerRequest) => {
  try {
    if (request.op === "sign") {
      const result = await c2pa.sign(request.image as never, request.spec as never);
      port.postMessage({ id: request.id, ok: true, result }, [
        result.bytes.buffer as ArrayBuffer,
        result.manifestBytes.buffer as ArrayBuffer,
      ]);
    } else {
      const result = await c2pa.read(request.bytes, request.mediaType);
      port.postMessage({ id: request.id, ok: true, result });
    }
  } catch (error) {
    port.postMessage({
      id: request.id,
      ok: false,
      error: isHallmarkError(error)
        ? { code: error.code, message: error.message, param: error.param, details: error.details }
        : {
            code: "internal_error",
            message: error instanceof Error ? error.message : String(error),
          },
    });
  }
});
port.postMessage({ ready: true });
