/**
 * The image classifier on the CPU pool's threads. onnxruntime-node's `session.run` returns a
 * promise but runs the model synchronously on the calling thread (microsoft/onnxruntime#19611),
 * so on the event loop every nudity, face and OCR pass (100 ms and more per image) held every
 * other request, the embedded database included. Here each pool thread holds its own sessions
 * and the event loop only sends the image and receives the result.
 *
 * What stays on the main thread: scoring the text read in the image against the lexicons (the
 * prompt screen's text classifier, small) and turning a thread's error back into a HallmarkError.
 */
import {
  type ClassifyOptions,
  type ImageClassifier,
  type ImageClassifierOptions,
  type ImageInput,
  type ImageResult,
  mergeScores,
  scoreImageText,
  type TextReading,
  type TextScreen,
} from "../classify/image/index.js";
import { type ErrorCode, HallmarkError } from "../errors/index.js";

/** What a pool thread needs to build its classifier: plain data only (it crosses threads). */
export type PooledClassifierOptions = Omit<ImageClassifierOptions, "textScreen" | "pdq">;

/** A thread's answer: the result, or a HallmarkError as data (errors lose their class in transit). */
export type ClassifyAnswer = Answer<ImageResult>;
export type ReadTextAnswer = Answer<TextReading | null>;
type Answer<T> =
  | { ok: true; result: T }
  | { ok: false; code: ErrorCode; message: string; param: string | null };

export type ModelsAnswer = Pick<ImageClassifier, "models" | "versions">;

function unwrap<T>(answer: Answer<T>): T {
  if (!answer.ok) throw new HallmarkError(answer.code, answer.message, { param: answer.param });
  return answer.result;
}

/**
 * Sends classify work to the pool. When the pool says so (`split`), one image's screening is
 * split over two threads: text in the image (OCR, the longest check) on one, everything else
 * on the other, at the same time; the answer is the same as one thread's. In the pool's shared
 * layout that is every image (no thread holds every model). In the per-thread layout it is while
 * two threads are idle: the text detector then runs with its wide session (more ONNX Runtime
 * threads, which do not spin), so it takes over the second core once the other checks are done;
 * under load every thread is busy and an image goes to one thread whole, so splitting never
 * costs throughput it does not have to spare.
 */
export async function createPooledImageClassifier(options: {
  classify: (input: ImageInput, options?: ClassifyOptions) => Promise<ClassifyAnswer>;
  readText?: (input: ImageInput, wide?: boolean) => Promise<ReadTextAnswer>;
  /** Whether to split this image's screening now (the pool's `splitScreening`); needs `readText`. */
  split?: () => boolean;
  models: () => Promise<ModelsAnswer>;
  textScreen?: TextScreen;
}): Promise<ImageClassifier> {
  // Also waits for a thread's models to load, so a start that cannot load them fails early.
  const { models, versions } = await options.models();
  const { readText, split } = options;
  const canSplit = models.ocr && readText !== undefined && split !== undefined;
  return {
    models,
    versions,
    async classify(input, classifyOptions) {
      let result: ImageResult;
      if (canSplit && !classifyOptions?.skipText && split()) {
        const [rest, text] = await Promise.all([
          options.classify(input, { ...classifyOptions, skipText: true }).then(unwrap),
          // The other checks take a fraction of OCR's time: once they are done its thread is
          // idle, and the text detector's wide session uses it (ocr.wideThreads).
          readText(input, true).then(unwrap),
        ]);
        result = text ? withText(rest, text) : rest;
      } else {
        result = unwrap(await options.classify(input, classifyOptions));
      }
      if (options.textScreen && result.sources.ocr && result.text.length > 0) {
        mergeScores(result.scores, await scoreImageText(options.textScreen, result.text));
      }
      return result;
    },
    async readText(input, readOptions) {
      if (!readText) return null;
      return unwrap(await readText(input, readOptions?.wide));
    },
    // The sessions live on the pool's threads and end with the pool.
    async close() {},
  };
}

/** One thread's result without text, joined with another thread's reading of the same image. */
function withText(rest: ImageResult, text: TextReading): ImageResult {
  return {
    ...rest,
    text: text.lines,
    textPasses: text.passes,
    sources: { ...rest.sources, ocr: true },
    timings: {
      ...rest.timings,
      ocr: text.timings.ocr,
      total: Math.max(rest.timings.total, text.timings.decode + text.timings.ocr),
    },
  };
}
