/**
 * Worker-thread side of the CPU pool (see pool.ts): the pure, CPU-bound functions the pipeline
 * would otherwise run on the event loop. Each thread builds its own watermarker from the key
 * handed over in `workerData` (memory only; the key never leaves the process).
 */
import { workerData } from "node:worker_threads";
import type { ClassifyOptions, ImageClassifier, ImageInput } from "../classify/image/index.js";
import { isHallmarkError } from "../errors/index.js";
import { pdqHash } from "../provenance/fingerprint/index.js";
import {
  createWatermarker,
  type RawImage,
  WatermarkKey,
  type WatermarkPayload,
} from "../provenance/watermark/index.js";
import { collectGarbage } from "./collect-garbage.js";
import type {
  ClassifyAnswer,
  ModelsAnswer,
  PooledClassifierOptions,
  ReadTextAnswer,
} from "./image-classifier.js";

export interface PoolInit {
  /** The watermark embedding key's 32 bytes, or null when no watermark is configured. */
  watermarkKey: Uint8Array | null;
  /** The image classifier's options, or null when screening does not run on the pool. */
  imageClassifier: PooledClassifierOptions | null;
}

export type Task =
  | { op: "embed"; image: RawImage; payload: WatermarkPayload }
  | { op: "detect"; image: RawImage }
  | { op: "pdq"; image: RawImage }
  | { op: "classify"; input: ImageInput; options?: ClassifyOptions }
  | { op: "read-text"; input: ImageInput; wide?: boolean }
  | { op: "image-models" }
  | { op: "quiesce"; barrier: Int32Array; threads: number };

const init = workerData as PoolInit;
const watermarker = init.watermarkKey
  ? createWatermarker({ key: new WatermarkKey(init.watermarkKey) })
  : null;

// Loading starts with the thread, so the sessions are ready before the first request. The
// module (ONNX Runtime, the models' code) is imported only by threads that screen: a pool of one
// thread for the watermark and PDQ alone was 191 MB resident after eight 512² embeddings, 217
// MB when every thread imported it.
const classifier: Promise<ImageClassifier> | null = init.imageClassifier
  ? import("../classify/image/index.js").then((m) => m.createImageClassifier(init.imageClassifier!))
  : null;
// An unobserved rejection would end the thread; it is reported to the first task instead.
classifier?.catch(() => {});
// What loading left (model bytes, rewritten graphs) is given back now, not at the first task.
classifier?.then(() => collectGarbage());

function needClassifier() {
  if (!classifier) throw new Error("the CPU pool was started without the image classifier");
  return classifier;
}

async function classify(input: ImageInput, options?: ClassifyOptions): Promise<ClassifyAnswer> {
  const images = await needClassifier();
  try {
    return { ok: true, result: await images.classify(input, options) };
  } catch (error) {
    if (!isHallmarkError(error)) throw error;
    return { ok: false, code: error.code, message: error.message, param: error.param };
  }
}

async function readText(input: ImageInput, wide?: boolean): Promise<ReadTextAnswer> {
  const images = await needClassifier();
  try {
    return { ok: true, result: await images.readText(input, { wide }) };
  } catch (error) {
    if (!isHallmarkError(error)) throw error;
    return { ok: false, code: error.code, message: error.message, param: error.param };
  }
}

function needWatermarker() {
  if (!watermarker) throw new Error("the CPU pool was started without a watermark key");
  return watermarker;
}

/**
 * Before the pool ends: waits until this thread's models have finished loading, then holds the
 * thread until every thread has done the same (so the `threads` quiesce tasks land on distinct
 * threads). Ending a thread while ONNX Runtime loads or runs a model aborts the process.
 */
async function quiesce(barrier: Int32Array, threads: number): Promise<void> {
  await classifier?.catch(() => {});
  Atomics.add(barrier, 0, 1);
  Atomics.notify(barrier, 0);
  const until = Date.now() + 10_000;
  for (let seen = Atomics.load(barrier, 0); seen < threads && Date.now() < until; ) {
    Atomics.wait(barrier, 0, seen, 100);
    seen = Atomics.load(barrier, 0);
  }
}

export default function run(task: Task): unknown {
  switch (task.op) {
    case "embed":
      return needWatermarker().embed(task.image, task.payload);
    case "detect":
      return needWatermarker().detect(task.image);
    case "pdq":
      return pdqHash(task.image);
    case "classify":
      return classify(task.input, task.options);
    case "read-text":
      return readText(task.input, task.wide);
    case "quiesce":
      return quiesce(task.barrier, task.threads);
    case "image-models":
      return needClassifier().then(
        (c): ModelsAnswer => ({ models: c.models, versions: c.versions }),
      );
  }
}
