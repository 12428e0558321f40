/**
 * Worker-thread side of the CPU pool (see pool.ts): the pure, CPU-bound functions the pipeline
 * would otherwise run on the event loop. Each thread builds its own watermarker from the key
 * handed over in `workerData` (memory only; the key never leaves the process).
 */
import { workerData } from "node:worker_threads";
import { pdqHash } from "../provenance/fingerprint/index.js";
import {
  createWatermarker,
  type RawImage,
  WatermarkKey,
  type WatermarkPayload,
} from "../provenance/watermark/index.js";

export interface PoolInit {
  /** The watermark embedding key's 32 bytes, or null when no watermark is configured. */
  watermarkKey: Uint8Array | null;
}

export type Task =
  | { op: "embed"; image: RawImage; payload: WatermarkPayload }
  | { op: "detect"; image: RawImage }
  | { op: "pdq"; image: RawImage };

const init = workerData as PoolInit;
const watermarker = init.watermarkKey
  ? createWatermarker({ key: new WatermarkKey(init.watermarkKey) })
  : null;

function needWatermarker() {
  if (!watermarker) throw new Error("the CPU pool was started without a watermark key");
  return watermarker;
}

export default function run(task: Task): unknown {
  switch (task.op) {
    case "embed":
      return needWatermarker().embed(task.image, task.payload);
    case "detect":
      return needWatermarker().detect(task.image);
    case "pdq":
      return pdqHash(task.image);
  }
}
