/**
 * Image screening: decode once, then the nudity model, the PDQ hash and the hash lists.
 * Sessions open once in `createImageClassifier` and are reused by every `classify`. A model whose
 * file is absent is reported absent (`sources.nsfw = false`) with no score: never a made-up 0.
 *
 * Faces with apparent age and text in the image (issue 5, items 2 and 3) are not built yet:
 * `sources.faces` and `sources.ocr` are false and `faces` is empty.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type * as ort from "onnxruntime-node";
import {
  type HashList,
  type HashListMatch,
  matchHashLists,
  type PdqResult,
  pdqHashRawForLookup,
} from "../../provenance/fingerprint/index.js";
import { type CategoryScores, emptyScores } from "../categories.js";
import { DEFAULT_MAX_PIXELS, decodeForScreening, type ImageInput } from "./decode.js";
import { createNsfwModel, type NsfwModel, type NsfwProbabilities, sexualScore } from "./nsfw.js";

export const NSFW_MODEL_FILE = join("nsfw", "nsfw-mobilenet-v2.onnx");
/** Meta's suggested PDQ match threshold (pdq/README.md). */
export const DEFAULT_HASH_THRESHOLD = 31;
/** Below this PDQ quality a hash is too featureless to match on (Meta's recommendation). */
export const MIN_MATCH_QUALITY = 50;

export interface ImageClassifierOptions {
  /** The folder holding nsfw/, faces/, ocr/ (the repository's models/). */
  modelsDir: string;
  /** Operator hash lists (see policies/hash-lists/README.md). */
  hashLists?: HashList[];
  /** Hamming distance at or under which a list entry matches. Default 31. */
  hashThreshold?: number;
  /** Pixel limit for encoded input (decompression bombs). Default 50 megapixels. */
  maxPixels?: number;
  /** Passed to every ONNX Runtime session (thread counts, for instance). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

export interface Face {
  box: { x: number; y: number; width: number; height: number };
  age?: number;
  score: number;
}

export interface ImageResult {
  /** All categories; only `sexual` is scored by an image model today. */
  scores: CategoryScores;
  /** The nudity model's five class probabilities, when it ran. */
  nsfw?: NsfwProbabilities;
  faces: Face[];
  text?: string[];
  pdq: PdqResult;
  hashListMatches: Array<Pick<HashListMatch, "list" | "label" | "distance">>;
  /** Which checks actually ran. */
  sources: { nsfw: boolean; faces: boolean; ocr: boolean; pdq: boolean };
  /** Decoded size after EXIF orientation. */
  width: number;
  height: number;
  /** Milliseconds per stage; nsfw and pdq run concurrently, so they may sum past `total`. */
  timings: { decode: number; nsfw: number; pdq: number; total: number };
}

export interface ImageClassifier {
  /**
   * Screens one image.
   * @throws HallmarkError `invalid_image` (unreadable, animated) or `image_too_large`.
   */
  classify(image: ImageInput): Promise<ImageResult>;
  /** Which models loaded. */
  readonly models: { nsfw: boolean; faces: boolean; ocr: boolean };
  /** Releases the ONNX sessions. */
  close(): Promise<void>;
}

/**
 * @example
 * const images = await createImageClassifier({ modelsDir: "models", hashLists: [list] });
 * const r = await images.classify(pngBytes); // r.scores.sexual.score, r.pdq.hash
 */
export async function createImageClassifier(
  options: ImageClassifierOptions,
): Promise<ImageClassifier> {
  const hashLists = options.hashLists ?? [];
  const threshold = options.hashThreshold ?? DEFAULT_HASH_THRESHOLD;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const nsfwPath = join(options.modelsDir, NSFW_MODEL_FILE);
  const nsfw: NsfwModel | undefined = existsSync(nsfwPath)
    ? await createNsfwModel(nsfwPath, options.sessionOptions ?? {})
    : undefined;

  return {
    models: { nsfw: nsfw !== undefined, faces: false, ocr: false },
    async classify(input) {
      const t0 = performance.now();
      const image = await decodeForScreening(input, maxPixels);
      const t1 = performance.now();
      const timed = async <T>(p: Promise<T>): Promise<[T, number]> => {
        const start = performance.now();
        const value = await p;
        return [value, performance.now() - start];
      };
      // The ONNX run happens off the JS thread, so the PDQ hash (JS) overlaps it.
      const [[probs, nsfwMs], [pdq, pdqMs]] = await Promise.all([
        timed(nsfw ? nsfw.classify(image) : Promise.resolve(undefined)),
        timed(pdqHashRawForLookup(image)),
      ]);
      const scores = emptyScores();
      if (probs) scores.sexual = { score: sexualScore(probs), spans: [] };
      const matches =
        pdq.quality >= MIN_MATCH_QUALITY
          ? matchHashLists(pdq.hash, hashLists, threshold).map(({ list, label, distance }) => ({
              list,
              label,
              distance,
            }))
          : [];
      const t2 = performance.now();
      return {
        scores,
        ...(probs ? { nsfw: probs } : {}),
        faces: [],
        pdq,
        hashListMatches: matches,
        sources: { nsfw: probs !== undefined, faces: false, ocr: false, pdq: true },
        width: image.width,
        height: image.height,
        timings: { decode: t1 - t0, nsfw: nsfwMs, pdq: pdqMs, total: t2 - t0 },
      };
    },
    async close() {
      await nsfw?.release();
    },
  };
}
