/**
 * A worker_threads pool for signing and reading, so that the engine's synchronous hashing and
 * embedding (about 20 ms for a 1024² PNG) does not hold the event loop while requests queue.
 * Same interface as `createC2pa`; each worker runs its own engine instance (the wasm module is
 * per realm). Requests go to the worker with the fewest in flight; a worker that dies fails
 * its in-flight requests with `internal_error` and is replaced.
 */
import { Worker } from "node:worker_threads";
import { type ErrorCode, HallmarkError } from "../../errors/index.js";
import { type C2pa, type C2paOptions, createC2pa, resolveAnchors } from "./c2pa.js";
import type { ImageInput, ManifestSpec, ReadResult, SignResult } from "./types.js";
import type { WorkerCall, WorkerInit } from "./worker.js";

export interface C2paPool extends C2pa {
  /** Number of worker threads. */
  readonly size: number;
  /** Stop the workers; in-flight requests fail. */
  close(): Promise<void>;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  pending: Map<number, Pending>;
}

const FROM_SOURCE = import.meta.url.endsWith(".ts");
const WORKER_URL = new URL(FROM_SOURCE ? "./worker.ts" : "./worker.js", import.meta.url);

/**
 * Run from TypeScript sources (tsx, vitest), a worker needs the tsx loader registered inside
 * it before it imports worker.ts; a small ESM bootstrap in a data: URL does that.
 */
function workerEntry(): URL {
  if (!FROM_SOURCE) return WORKER_URL;
  const code = [
    `import { register } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))};`,
    "register();",
    `await import(${JSON.stringify(WORKER_URL.href)});`,
  ].join("\n");
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/**
 * Start `size` workers (default 2) that sign and read with the same credentials and anchors.
 * @example const c2pa = await createC2paPool({ credentials, size: 2 }); await c2pa.sign(img, spec);
 */
export async function createC2paPool(options: C2paOptions & { size?: number }): Promise<C2paPool> {
  // The in-process instance validates the options once and computes what the workers share.
  const local = await createC2pa(options);
  const anchors = await resolveAnchors(options);
  const init: WorkerInit = {
    portable: options.credentials.portable,
    trustAnchorsPem: anchors.pem,
    tsa: options.tsa,
    maxBytes: options.maxBytes,
    maxPixels: options.maxPixels,
    reserveSize: local.reserveSize,
    verifyAfterSign: options.verifyAfterSign,
  };
  const size = Math.max(1, options.size ?? 2);
  const slots: Slot[] = [];
  let nextId = 1;
  let closing = false;

  function spawn(index: number): Slot {
    const worker = new Worker(workerEntry(), { workerData: init });
    const pending = new Map<number, Pending>();
    let markReady: () => void = () => {};
    let markFailed: (error: unknown) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    worker.on("message", (message: Record<string, unknown>) => {
      if (message.ready) return markReady();
      if (Array.isArray(message.log)) {
        const [level, text, fields] = message.log as [
          "warn" | "error",
          string,
          Record<string, unknown>,
        ];
        options.log?.(level, text, fields);
        return;
      }
      const entry = pending.get(message.id as number);
      if (!entry) return;
      pending.delete(message.id as number);
      if (message.ok) entry.resolve(message.result);
      else {
        const e = message.error as {
          code: ErrorCode;
          message: string;
          param?: string | null;
          details?: Record<string, unknown>;
        };
        entry.reject(new HallmarkError(e.code, e.message, { param: e.param, details: e.details }));
      }
    });
    const fail = (error: unknown) => {
      markFailed(error);
      for (const entry of pending.values()) {
        entry.reject(new HallmarkError("internal_error", `C2PA worker stopped: ${String(error)}`));
      }
      pending.clear();
      if (!closing) slots[index] = spawn(index);
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (!closing) fail(new Error(`exit ${code}`));
    });
    return { worker, ready, pending };
  }

  for (let i = 0; i < size; i++) slots.push(spawn(i));
  await Promise.all(slots.map((s) => s.ready));

  function call<T>(request: WorkerCall, transfer: ArrayBuffer[] = []): Promise<T> {
    if (closing) return Promise.reject(new HallmarkError("internal_error", "C2PA pool closed"));
    const slot = slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      slot.worker.postMessage({ ...request, id }, transfer);
    });
  }

  return {
    size,
    anchors: local.anchors,
    tsaAnchors: local.tsaAnchors,
    reserveSize: local.reserveSize,
    sign: (image: ImageInput, spec: ManifestSpec) => call<SignResult>({ op: "sign", image, spec }),
    read: async (bytes: Uint8Array, mediaType?: string) => {
      const result = await call<ReadResult>({ op: "read", bytes, mediaType });
      return { ...result, anchors: [...local.anchors] };
    },
    async close() {
      closing = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
