/**
 * A worker-thread pool (piscina) for the pipeline's CPU-bound work: watermark embedding
 * and detection (10–35 ms per 512² image), PDQ hashing, and image screening (the ONNX models,
 * which onnxruntime-node runs synchronously on the calling thread; image-classifier.ts). On the event loop these hold every
 * other request, including the database work of the embedded PGlite; on a pool they overlap
 * with it and use the machine's other cores. Results are the same values the in-process
 * functions return (the pool only moves the work). Where the image models live, once or on
 * every thread, is the pool's `screeningLayout`.
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
   * Text in one image only, on a pool thread (with `classifyImage`, when OCR is on); `wide`:
   * the other threads are idle, so the text detector may use its wide session (`ocr.wideThreads`,
   * per-thread layout).
   */
  readImageText?: (input: ImageInput, wide?: boolean) => Promise<ReadTextAnswer>;
  /**
   * Whether one image's screening should be split now (text on one thread, the other checks on
   * another): always in the shared layout, where no thread holds every model; in the per-thread
   * layout while two threads are idle.
   */
  splitScreening(): boolean;
  /** Threads with nothing to do at this moment: threads less the tasks running or queued. */
  idleThreads(): number;
  /** Tasks handed to the pool since it started. */
  readonly tasksRun: number;
  /** Which image models the pool's threads loaded (waits for the loading). */
  imageModels?: () => Promise<ModelsAnswer>;
  readonly threads: number;
  readonly screeningLayout: ScreeningLayout;
  /** Threads that hold image models: those that read text, and those with the other models. */
  readonly screeningThreads: { text: number; other: number };
  close(): Promise<void>;
}

/** The `Watermarker` operations, off the event loop. */
export interface PooledWatermarker {
  embed(image: RawImage, payload: WatermarkPayload): Promise<EmbedResult>;
  detect(image: RawImage): Promise<DetectResult>;
  readonly keyFingerprint: string;
}

/**
 * Where the image models live (docs/image-screening.md, Memory).
 *
 * - "shared": one copy of each model per two of the pool's `threads` (one copy for the default
 *   two). The text reader (OCR's detector and recogniser) has threads of its own, whose ONNX
 *   Runtime sessions use `ocr.wideThreads` threads that do not spin; nudity, faces and PDQ have
 *   others; every image's screening is split between the two kinds, and the pool's `threads` do
 *   the watermark and PDQ work. Measured with two cores: about 0.66× the resident memory of
 *   "per-thread", the same latency one image at a time, about 0.9× the throughput with every
 *   core busy. Copies per two threads keep OCR's share of a larger pool's cores (not measured
 *   beyond two cores).
 * - "per-thread": every one of the pool's `threads` loads every model (a copy per thread, the
 *   text detector twice with `ocr.wideThreads` > 1); an image goes to one thread whole, or is
 *   split over two while two are idle. More memory for throughput under load.
 */
export type ScreeningLayout = "shared" | "per-thread";

export interface CpuPoolOptions {
  /** Worker threads (≥ 1). */
  threads: number;
  /** Tasks waiting beyond this are refused at once rather than queued without bound. */
  maxQueue?: number;
  watermarkKey?: WatermarkKey;
  /** The image classifier's options for the threads that load its ONNX sessions. */
  imageClassifier?: PooledClassifierOptions;
  /** Default "per-thread"; the gateway's default is "shared" (HALLMARK_SCREENING_LAYOUT). */
  screeningLayout?: ScreeningLayout;
}

const FROM_SOURCE = import.meta.url.endsWith(".ts");

/**
 * Run from TypeScript sources (tsx, vitest), a worker must register the tsx loader before it
 * imports tasks.ts: tasks-entry.mjs does that and re-exports the handler.
 */
function workerFilename(): string {
  return new URL(FROM_SOURCE ? "./tasks-entry.mjs" : "./tasks.js", import.meta.url).href;
}

/** Piscina threads that all load what `init` says, with a count of the tasks they hold. */
interface ThreadGroup {
  run<T>(task: Task): Promise<T>;
  readonly threads: number;
  pending(): number;
  tasksRun(): number;
  close(): Promise<void>;
}

function startThreads(threads: number, init: PoolInit, maxQueue: number): ThreadGroup {
  const piscina = new Piscina({
    filename: workerFilename(),
    minThreads: threads,
    maxThreads: threads,
    maxQueue,
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
  return {
    run,
    threads,
    pending: () => pending,
    tasksRun: () => tasksRun,
    // Waits for the tasks already running: terminating a thread inside an ONNX Runtime run
    // aborts the whole process (a Napi::Error thrown from native code). Queued tasks are dropped.
    close: async () => {
      if (init.imageClassifier) {
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

/**
 * The shared layout's reader of text: OCR alone, its sessions on `ocr.wideThreads` ONNX Runtime
 * threads that wait without spinning (a busy neighbour thread loses no CPU to them).
 */
function textReaderOptions(options: PooledClassifierOptions): PooledClassifierOptions {
  const ocr = options.ocr === false ? {} : (options.ocr ?? {});
  const sessionOptions = options.sessionOptions ?? {};
  const extra = (sessionOptions.extra ?? {}) as { session?: Record<string, unknown> };
  return {
    ...options,
    nsfw: false,
    faces: false,
    // The thread's one detector session is already wide: no second one.
    ocr: { ...ocr, wideThreads: 1 },
    sessionOptions: {
      ...sessionOptions,
      intraOpNumThreads: ocr.wideThreads ?? 1,
      extra: { ...extra, session: { ...extra.session, intra_op: { allow_spinning: "0" } } },
    },
  };
}

/** Starts the pool; threads start eagerly so the first request does not pay for them. */
export function createCpuPool(options: CpuPoolOptions): CpuPool {
  const threads = Math.max(1, Math.floor(options.threads));
  const maxQueue = options.maxQueue ?? 256;
  const layout = options.screeningLayout ?? "per-thread";
  const models = options.imageClassifier;
  const shared = layout === "shared" && models !== undefined;
  const general = startThreads(
    threads,
    {
      watermarkKey: options.watermarkKey ? keyBytes(options.watermarkKey) : null,
      imageClassifier: shared ? null : (models ?? null),
    },
    maxQueue,
  );
  // Shared layout: a copy of the text reader and one of the other models per two pool threads.
  const copies = Math.ceil(threads / 2);
  const alone = (imageClassifier: PooledClassifierOptions) =>
    startThreads(copies, { watermarkKey: null, imageClassifier }, maxQueue);
  const pixels = shared ? alone({ ...models, ocr: false }) : general;
  const text = !shared
    ? general
    : models.ocr !== false
      ? alone(textReaderOptions(models))
      : undefined;
  const groups = [...new Set([general, pixels, text].filter((g) => g !== undefined))];
  const key = options.watermarkKey;
  const imageModels = async (): Promise<ModelsAnswer> => {
    const [rest, reader] = await Promise.all([
      pixels.run<ModelsAnswer>({ op: "image-models" }),
      text && text !== pixels ? text.run<ModelsAnswer>({ op: "image-models" }) : undefined,
    ]);
    if (!reader) return rest;
    return {
      models: { ...rest.models, ocr: reader.models.ocr },
      versions: { ...rest.versions, ocr: reader.versions.ocr },
    };
  };
  const idleThreads = () => Math.max(0, threads - general.pending());
  return {
    watermarker: key && {
      keyFingerprint: key.fingerprint,
      embed: (image, payload) => general.run<EmbedResult>({ op: "embed", image, payload }),
      detect: (image) => general.run<DetectResult>({ op: "detect", image }),
    },
    pdq: (image) => general.run<PdqResult>({ op: "pdq", image }),
    ...(models
      ? {
          classifyImage: (input: ImageInput, classify?: ClassifyOptions) =>
            pixels.run<ClassifyAnswer>({ op: "classify", input, options: classify }),
          ...(text
            ? {
                readImageText: (input: ImageInput, wide?: boolean) =>
                  text.run<ReadTextAnswer>({ op: "read-text", input, wide }),
              }
            : {}),
          imageModels,
        }
      : {}),
    threads,
    screeningLayout: layout,
    screeningThreads: {
      text: text && models?.ocr !== false ? text.threads : 0, // per-thread without OCR: none
      other: models ? pixels.threads : 0,
    },
    idleThreads,
    splitScreening: () => shared || idleThreads() >= 2,
    get tasksRun() {
      return groups.reduce((n, g) => n + g.tasksRun(), 0);
    },
    close: async () => {
      await Promise.all(groups.map((g) => g.close()));
    },
  };
}
