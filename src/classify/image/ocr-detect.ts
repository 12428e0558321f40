/**
 * PaddleOCR v4 text detection (DB, "Real-time Scene Text Detection with Differentiable
 * Binarization"): the network gives a per-pixel text probability; pixels above 0.3 form text
 * kernels; each kernel's minimum-area rectangle, if its mean probability is at least 0.6, is grown
 * by the unclip ratio 1.5 and mapped back to the image. Those constants are PaddleOCR's
 * inference defaults (det_db_thresh, det_db_box_thresh, det_db_unclip_ratio, min_size 3).
 */
import { readFile } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { fuseActivations, quantiseStatic } from "../onnx-graph/index.js";
import type { RawImageInput } from "./decode.js";
import {
  connectedRegions,
  convexHull,
  minAreaRect,
  type Point,
  type RotatedRect,
  readingOrder,
  unclip,
} from "./ocr-geometry.js";
import type { DetectorQuantisation } from "./ocr-int8.js";

export const DET_THRESHOLD = 0.3;
export const DET_BOX_THRESHOLD = 0.6;
export const DET_UNCLIP_RATIO = 1.5;
const MIN_SIZE = 3;
/** ImageNet statistics, applied to B, G, R in that order as PaddleOCR's BGR pipeline does. */
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

export interface DetectedBox {
  /** In the original image's pixels, in reading order (see ocr-geometry `readingOrder`). */
  rect: RotatedRect;
  /** Mean text probability inside the kernel's rectangle. */
  score: number;
}

/** Sizes the network sees: the long side at most `limit`, both sides multiples of 32. */
export function detectionSize(width: number, height: number, limit: number) {
  const scale = Math.max(width, height) > limit ? limit / Math.max(width, height) : 1;
  const round = (v: number) => Math.max(32, Math.round((v * scale) / 32) * 32);
  return { width: round(width), height: round(height) };
}

/** NCHW float BGR, ImageNet-normalised, alpha flattened onto white. */
export async function detectionTensor(image: RawImageInput, w: number, h: number) {
  const rgb = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  })
    .flatten({ background: "#ffffff" })
    .resize(w, h, { fit: "fill" })
    .raw()
    .toBuffer();
  const plane = w * h;
  const x = new Float32Array(3 * plane);
  // One plane at a time, each sample looked up (NORMALISED): the same float32 values as the
  // arithmetic per sample, at about half the time of the interleaved loop (13 against 28 ms for
  // a 960² input on this machine, a `.probe` measurement; docs/image-screening.md).
  for (let c = 0; c < 3; c++) {
    const table = NORMALISED[c]!;
    const plane0 = c * plane;
    // Channel c of the tensor is B, G, R for c = 0, 1, 2.
    for (let p = 0, q = 2 - c; p < plane; p++, q += 3) x[plane0 + p] = table[rgb[q]!]!;
  }
  return x;
}

/** Per tensor channel (B, G, R): each 8-bit value v as (v / 255 − mean) / std. */
const NORMALISED = [0, 1, 2].map((c) =>
  Float32Array.from({ length: 256 }, (_, v) => (v / 255 - MEAN[c]!) / STD[c]!),
);

/** Mean of `prob` over the pixels inside `rect` (the "fast" box score of PaddleOCR). */
function rectScore(prob: Float32Array, w: number, h: number, rect: RotatedRect): number {
  const ux = Math.cos(rect.angle);
  const uy = Math.sin(rect.angle);
  const r = Math.hypot(rect.width, rect.height) / 2;
  const x0 = Math.max(0, Math.floor(rect.cx - r));
  const x1 = Math.min(w - 1, Math.ceil(rect.cx + r));
  const y0 = Math.max(0, Math.floor(rect.cy - r));
  const y1 = Math.min(h - 1, Math.ceil(rect.cy + r));
  let sum = 0;
  let count = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - rect.cx;
      const dy = y + 0.5 - rect.cy;
      const u = dx * ux + dy * uy;
      const v = -dx * uy + dy * ux;
      if (Math.abs(u) <= rect.width / 2 && Math.abs(v) <= rect.height / 2) {
        sum += prob[y * w + x]!;
        count++;
      }
    }
  }
  return count === 0 ? 0 : sum / count;
}

/** Boxes from a probability map of size w × h (pure: no model; tested on drawn maps). */
export function boxesFromProbability(
  prob: Float32Array,
  w: number,
  h: number,
  scaleX: number,
  scaleY: number,
): DetectedBox[] {
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < mask.length; i++) mask[i] = prob[i]! > DET_THRESHOLD ? 1 : 0;
  const boxes: DetectedBox[] = [];
  for (const region of connectedRegions(mask, w, h)) {
    const hull: Point[] = convexHull(region.outline);
    const rect = minAreaRect(hull);
    if (Math.min(rect.width, rect.height) < MIN_SIZE) continue;
    const score = rectScore(prob, w, h, rect);
    if (score < DET_BOX_THRESHOLD) continue;
    const grown = unclip(rect, DET_UNCLIP_RATIO);
    if (Math.min(grown.width, grown.height) < MIN_SIZE + 2) continue;
    // Back to image pixels. Scales differ by at most the rounding to 32, so the rectangle stays
    // (near enough) rectangular; the angle is recomputed in the scaled frame.
    const ux = Math.cos(grown.angle) * grown.width * scaleX;
    const uy = Math.sin(grown.angle) * grown.width * scaleY;
    const vx = -Math.sin(grown.angle) * grown.height * scaleX;
    const vy = Math.cos(grown.angle) * grown.height * scaleY;
    boxes.push({
      rect: readingOrder({
        cx: grown.cx * scaleX,
        cy: grown.cy * scaleY,
        width: Math.hypot(ux, uy),
        height: Math.hypot(vx, vy),
        angle: Math.atan2(uy, ux),
      }),
      score,
    });
  }
  return boxes;
}

/** One detection pass. */
export interface Detection {
  boxes: DetectedBox[];
  /**
   * The probability map's highest value, 0..1: near 0 where the network sees nothing text-like
   * anywhere (most photos), whether or not any box passed the thresholds.
   */
  peak: number;
}

export interface TextDetector {
  /** Boxes in `image`'s pixels; `limit` overrides the long side the network sees. */
  detect(image: RawImageInput, limit?: number): Promise<Detection>;
  release(): Promise<void>;
}

/**
 * Opens the detection session once; `limit` is the long side the network sees (pixels);
 * `fuse` rewrites the graph's element-wise chains (onnx-graph) as it loads; `int8` runs it
 * quantised to 8 bits with those ranges (ocr-int8.ts; `fuse` is then implied).
 */
export async function createTextDetector(
  path: string,
  limit: number,
  sessionOptions: ort.InferenceSession.SessionOptions,
  fuse = true,
  int8?: DetectorQuantisation,
): Promise<TextDetector> {
  return openTextDetector(detectorModel(await readFile(path), fuse, int8), limit, sessionOptions);
}

/**
 * The detector's graph as its sessions run it: rewritten by `fuseActivations` (as shipped when
 * `fuse` is false), or quantised to 8 bits with `int8`'s ranges. Built once for every session
 * that runs it (ocr.ts opens two).
 */
export function detectorModel(
  bytes: Uint8Array,
  fuse = true,
  int8?: DetectorQuantisation,
): Uint8Array {
  if (int8) return quantiseStatic(bytes, int8).model;
  return fuse ? fuseActivations(bytes).model : bytes;
}

/** A detection session on a graph `detectorModel` built. */
export async function openTextDetector(
  model: Uint8Array,
  limit: number,
  sessionOptions: ort.InferenceSession.SessionOptions,
): Promise<TextDetector> {
  const session = await ort.InferenceSession.create(model, sessionOptions);
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  return {
    async detect(image, side = limit) {
      const { width: w, height: h } = detectionSize(image.width, image.height, side);
      const x = await detectionTensor(image, w, h);
      const r = await session.run({ [input]: new ort.Tensor("float32", x, [1, 3, h, w]) });
      const prob = r[output]!.data as Float32Array;
      let peak = 0;
      for (let i = 0; i < prob.length; i++) if (prob[i]! > peak) peak = prob[i]!;
      // No pixel above the kernel threshold (most photos): no region, so no box, and the
      // regions' scan of the whole map is skipped.
      if (peak <= DET_THRESHOLD) return { boxes: [], peak };
      return { boxes: boxesFromProbability(prob, w, h, image.width / w, image.height / h), peak };
    },
    release: () => session.release(),
  };
}
