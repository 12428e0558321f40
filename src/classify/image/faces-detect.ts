/**
 * BlazeFace (MediaPipe's face detector, as @vladmandic/human ships it, converted to
 * models/faces/blazeface.onnx): the whole image stretched to 256×256, RGB scaled to [-1, 1];
 * 896 anchors (a 16×16 grid with 2 per cell at stride 16, then 8×8 with 6 at stride 32), each
 * with a logit and a box relative to its anchor centre in input pixels. Decoding, the anchors and
 * non-maximum suppression are written here from that description (human's src/face/blazeface.ts
 * and facemeshutil.ts give the facts).
 */
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import type { RawImageInput } from "./decode.js";

export const BLAZEFACE_SIZE = 256;

export interface FaceBox {
  /** Image pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Detector confidence, 0..1. */
  score: number;
}

/** Anchor centres in input pixels, in the order of the model's concatenated outputs. */
export function blazefaceAnchors(size = BLAZEFACE_SIZE): Float32Array {
  const specs = [
    { stride: size / 16, perCell: 2 },
    { stride: size / 8, perCell: 6 },
  ];
  const out: number[] = [];
  for (const { stride, perCell } of specs) {
    const cells = Math.ceil(size / stride);
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++) {
        for (let k = 0; k < perCell; k++) out.push(stride * (gx + 0.5), stride * (gy + 0.5));
      }
    }
  }
  return Float32Array.from(out);
}

export function iou(a: FaceBox, b: FaceBox): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union <= 0 ? 0 : inter / union;
}

/** Greedy non-maximum suppression: best first, dropping boxes overlapping a kept one. */
export function nonMaxSuppression(boxes: FaceBox[], iouThreshold: number, max: number): FaceBox[] {
  const kept: FaceBox[] = [];
  for (const b of [...boxes].sort((p, q) => q.score - p.score)) {
    if (kept.length >= max) break;
    if (kept.every((k) => iou(k, b) <= iouThreshold)) kept.push(b);
  }
  return kept;
}

/**
 * Boxes from the raw outputs: `logits` (896) and `regressions` (896 × 16), anchors in the same
 * order; scaled from the 256² input to a width × height image.
 */
export function decodeBlazeface(
  logits: Float32Array,
  regressions: Float32Array,
  anchors: Float32Array,
  width: number,
  height: number,
  minScore: number,
): FaceBox[] {
  const sx = width / BLAZEFACE_SIZE;
  const sy = height / BLAZEFACE_SIZE;
  const boxes: FaceBox[] = [];
  for (let i = 0; i < logits.length; i++) {
    const score = 1 / (1 + Math.exp(-logits[i]!));
    if (!(score >= minScore)) continue;
    const r = i * 16;
    const cx = regressions[r]! + anchors[2 * i]!;
    const cy = regressions[r + 1]! + anchors[2 * i + 1]!;
    const w = regressions[r + 2]!;
    const h = regressions[r + 3]!;
    if (!(w > 0 && h > 0)) continue;
    boxes.push({
      x: (cx - w / 2) * sx,
      y: (cy - h / 2) * sy,
      width: w * sx,
      height: h * sy,
      score,
    });
  }
  return boxes;
}

export interface FaceDetector {
  detect(image: RawImageInput): Promise<FaceBox[]>;
  release(): Promise<void>;
}

export interface FaceDetectorOptions {
  /** Lowest detector confidence kept (default 0.5). */
  minScore: number;
  /** Overlap above which the weaker of two boxes is dropped (default 0.3). */
  iouThreshold: number;
  /** Most faces per image. */
  maxFaces: number;
}

export async function createFaceDetector(
  path: string,
  options: FaceDetectorOptions,
  sessionOptions: ort.InferenceSession.SessionOptions,
): Promise<FaceDetector> {
  const session = await ort.InferenceSession.create(path, sessionOptions);
  const anchors = blazefaceAnchors();
  return {
    async detect(image) {
      const rgb = await sharp(image.data, {
        raw: { width: image.width, height: image.height, channels: image.channels },
      })
        .flatten({ background: "#000000" })
        .resize(BLAZEFACE_SIZE, BLAZEFACE_SIZE, { fit: "fill" })
        .raw()
        .toBuffer();
      // A plain loop: `Float32Array.from(bytes, mapFn)` is far slower (see nsfw.ts).
      const x = new Float32Array(rgb.length);
      for (let i = 0; i < rgb.length; i++) x[i] = rgb[i]! / 127.5 - 1;
      const r = await session.run({
        input: new ort.Tensor("float32", x, [1, BLAZEFACE_SIZE, BLAZEFACE_SIZE, 3]),
      });
      const logits = new Float32Array(896);
      logits.set(r.Identity!.data as Float32Array, 0);
      logits.set(r.Identity_1!.data as Float32Array, 512);
      const regressions = new Float32Array(896 * 16);
      regressions.set(r.Identity_2!.data as Float32Array, 0);
      regressions.set(r.Identity_3!.data as Float32Array, 512 * 16);
      const boxes = decodeBlazeface(
        logits,
        regressions,
        anchors,
        image.width,
        image.height,
        options.minScore,
      );
      return nonMaxSuppression(boxes, options.iouThreshold, options.maxFaces);
    },
    release: () => session.release(),
  };
}
