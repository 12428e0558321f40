/**
 * A worker-thread pool (piscina) for the pipeline's CPU-bound work: watermark embedding
 * and detection (10–35 ms per 512² image), PDQ hashing, and image screening (the ONNX models,
 * which onnxruntime-node runs synchronously on the calling thread; image-classifier.ts). On the event loop these hold every
 * other request, including the database work of the embedded PGlite; on a pool they overlap
 * with it and use the machine's other cores. Results are the same values the in-process
 * functions return (the pool only moves the work).
 */
import { Piscina } from "piscina";
import type { ClassifyOptions, ImageInput } from "../classify/image/index.js";
import type { PdqResult } from "../provenance/fingerprint/index.js";
import {
  type DetectResult,
  type EmbedResult,
  keyBytes,
  type RawImage,
  type WatermarkKey,
  type WatermarkPayload,
} from "../provenance/watermark/index.js";
import type {
  ClassifyAnswer,
  ModelsAnswer,
  PooledClassifierOptions,
  ReadTextAnswer,
} from "./image-classifier.js";
import type { PoolInit, Task } from "./tasks.js";

export interface CpuPool {
  /** Watermark embedding and detection with the pool's key (absent without a key). */
  watermarker?: PooledWatermarker;
  pdq(image: RawImage): Promise<PdqResult>;
  /** Image screening on the pool's threads (absent unless `imageClassifier` was given). */
  classifyImage?: (input: ImageInput, options?: ClassifyOptions) => Promise<ClassifyAnswer>;
  /**
   * Text in one image only, on a pool thread (with `classifyImage`); `wide`: the other threads
   * are idle, so the text detector may use its wide session (`ocr.wideThreads`).
   */
  readImageText?: (input: ImageInput, wide?: boolean) => Promise<ReadTextAnswer>;
  /** Threads with nothing to do at this moment: threads less the tasks running or queued. */
  idleThreads(): number;
  /** Tasks handed to the pool since it started. */
  readonly tasksRun: number;
  /** Which image models a pool thread loaded (waits for the loading). */
  imageModels?: () => Promise<ModelsAnswer>;
  readonly threads: number;
  close(): Promise<void>;
}

/** The `Watermarker` operations, off the event loop. */
export interface PooledWatermarker {
  embed(image: RawImage, payload: WatermarkPayload): Promise<EmbedResult>;
  detect(image: RawImage): Promise<DetectResult>;
  readonly keyFingerprint: string;
}

export interface CpuPoolOptions {
  /** Worker threads (≥ 1). */
  threads: number;
  /** Tasks waiting beyond this are refused at once rather than queued without bound. */
  maxQueue?: number;
  watermarkKey?: WatermarkKey;
  /** Each thread loads the image classifier's ONNX sessions with these options. */
  imageClassifier?: PooledClassifierOptions;
}

const FROM_SOURCE = import.meta.url.endsWith(".ts");

/**
 * Run from TypeScript sources (tsx, vitest), a worker must register the tsx loader before it
 * imports tasks.ts: tasks-entry.mjs does that and re-exports the handler.
 */
function workerFilename(): string {
  return new URL(FROM_SOURCE ? "./tasks-entry.mjs" : "./tasks.js", import.meta.url).href;
}

/** Starts the pool; threads start eagerly so the first request does not pay for them. */
export function createCpuPool(options: CpuPoolOptions): CpuPool {
  const threads = Math.max(1, Math.floor(options.threads));
  const init: PoolInit = {
    watermarkKey: options.watermarkKey ? keyBytes(options.watermarkKey) : null,
    imageClassifier: options.imageClassifier ?? null,
  };
  const piscina = new Piscina({
    filename: workerFilename(),
    minThreads: threads,
    maxThreads: threads,
    maxQueue: options.maxQueue ?? 256,
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData: init,
    closeTimeout: 30_000,
  });
  // close() reports a timeout as an 'error' event (then terminates the threads anyway).
  piscina.on("error", () => {});
  let pending = 0;
  let tasksRun = 0;
  const run = <T>(task: Task): Promise<T> => {
    pending++;
    tasksRun++;
    return (piscina.run(task) as Promise<T>).finally(() => {
      pending--;
    });
  };
  const key = options.watermarkKey;
  return {
    watermarker: key && {
      keyFingerprint: key.fingerprint,
      embed: (image, payload) => run<EmbedResult>({ op: "embed", image, payload }),
      detect: (image) => run<DetectResult>({ op: "detect", image }),
    },
    pdq: (image) => run<PdqResult>({ op: "pdq", image }),
    ...(options.imageClassifier
      ? {
          classifyImage: (input: ImageInput, classify?: ClassifyOptions) =>
            run<ClassifyAnswer>({ op: "classify", input, options: classify }),
          readImageText: (input: ImageInput, wide?: boolean) =>
            run<ReadTextAnswer>({ op: "read-text", input, wide }),
          imageModels: () => run<ModelsAnswer>({ op: "image-models" }),
        }
      : {}),
    threads,
    idleThreads: () => Math.max(0, threads - pending),
    get tasksRun() {
      return tasksRun;
    },
    // Waits for the tasks already running: terminating a thread inside an ONNX Runtime run
    // aborts the whole process (a Napi::Error thrown from native code). Queued tasks are dropped.
    close: async () => {
      if (options.imageClassifier) {
        const barrier = new Int32Array(new SharedArrayBuffer(4));
        await Promise.all(
          Array.from({ length: threads }, () =>
            run({ op: "quiesce", barrier, threads }).catch(() => {}),
          ),
        );
      }
      await piscina.close({ force: true });
    },
  };
}
