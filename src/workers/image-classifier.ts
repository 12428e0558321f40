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
  type TextScreen,
} from "../classify/image/index.js";
import { type ErrorCode, HallmarkError } from "../errors/index.js";

/** What a pool thread needs to build its classifier: plain data only (it crosses threads). */
export type PooledClassifierOptions = Omit<ImageClassifierOptions, "textScreen" | "pdq">;

/** A thread's answer: the result, or a HallmarkError as data (errors lose their class in transit). */
export type ClassifyAnswer =
  | { ok: true; result: ImageResult }
  | { ok: false; code: ErrorCode; message: string; param: string | null };

export type ModelsAnswer = ImageClassifier["models"];

/** Sends classify work to the pool; `run` is the pool's task runner. */
export async function createPooledImageClassifier(options: {
  classify: (input: ImageInput, options?: ClassifyOptions) => Promise<ClassifyAnswer>;
  models: () => Promise<ModelsAnswer>;
  textScreen?: TextScreen;
}): Promise<ImageClassifier> {
  // Also waits for a thread's models to load, so a start that cannot load them fails early.
  const models = await options.models();
  return {
    models,
    async classify(input, classifyOptions) {
      const answer = await options.classify(input, classifyOptions);
      if (!answer.ok) {
        throw new HallmarkError(answer.code, answer.message, { param: answer.param });
      }
      const result = answer.result;
      if (options.textScreen && result.sources.ocr && result.text.length > 0) {
        mergeScores(result.scores, await scoreImageText(options.textScreen, result.text));
      }
      return result;
    },
    // The sessions live on the pool's threads and end with the pool.
    async close() {},
  };
}
