/**
 * PaddleOCR v4 text recognition (SVTR-LCNet with a CTC head): each detected box is cut out
 * along its own axes, scaled to height 48 keeping its aspect ratio, padded on the right to at
 * least 320 wide (the training shape), normalised to [-1, 1] in BGR order; the network gives,
 * per time step, probabilities over blank + the 6,623 characters of ppocr_keys_v1.txt + space.
 * Greedy CTC decoding: the best class per step, repeats merged, blanks dropped.
 */
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { createFusedSession } from "../onnx-graph/index.js";
import type { RawImageInput } from "./decode.js";
import type { RotatedRect } from "./ocr-geometry.js";

export const REC_HEIGHT = 48;
export const REC_MIN_WIDTH = 320;
/** Longest crop fed to the network (25:1); longer lines are squeezed to fit. */
export const REC_MAX_WIDTH = 1200;
const BATCH = 8;

/** Reads ppocr_keys_v1.txt: one character per line; index 0 is CTC blank, the last is space. */
export function loadDictionary(path: string): string[] {
  const lines = readFileSync(path, "utf8").replace(/\r/g, "").split("\n");
  if (lines.at(-1) === "") lines.pop();
  return ["", ...lines, " "];
}

export interface Decoded {
  text: string;
  /** Mean probability of the characters kept (0 when nothing was read). */
  confidence: number;
}

/**
 * Greedy CTC decoding of one sequence: `probs` is steps × classes, row-major.
 * @example ctcGreedy(probs, 40, dict.length, dict) // { text: "Getty Images", confidence: 0.97 }
 */
export function ctcGreedy(
  probs: Float32Array,
  steps: number,
  classes: number,
  dictionary: string[],
  offset = 0,
): Decoded {
  let text = "";
  let sum = 0;
  let kept = 0;
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    const row = offset + t * classes;
    let best = 0;
    let bestP = probs[row]!;
    for (let c = 1; c < classes; c++) {
      const p = probs[row + c]!;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== 0 && best !== previous) {
      text += dictionary[best] ?? "";
      sum += bestP;
      kept++;
    }
    previous = best;
  }
  return { text, confidence: kept === 0 ? 0 : sum / kept };
}

/** Width of the crop at height 48 for a box of this shape. */
export function cropWidth(rect: RotatedRect): number {
  const ratio = rect.width / Math.max(1, rect.height);
  return Math.min(REC_MAX_WIDTH, Math.max(8, Math.ceil(REC_HEIGHT * ratio)));
}

/**
 * Samples the rotated box into `out` (3 planes of `stride` × 48, BGR, normalised), bilinear with
 * k×k supersampling when the box is taller than 48 px so that large text does not alias.
 * Pixels outside the image read as white (as the transparent areas are flattened).
 */
export function sampleCrop(
  image: RawImageInput,
  rect: RotatedRect,
  width: number,
  out: Float32Array,
  stride: number,
): void {
  const { data, width: iw, height: ih, channels } = image;
  const ux = Math.cos(rect.angle);
  const uy = Math.sin(rect.angle);
  const vx = -uy;
  const vy = ux;
  const su = rect.width / width;
  const sv = rect.height / REC_HEIGHT;
  const k = Math.min(4, Math.max(1, Math.ceil(Math.max(su, sv))));
  const plane = stride * REC_HEIGHT;
  const px = (x: number, y: number, c: number): number => {
    if (x < 0 || y < 0 || x >= iw || y >= ih) return 255;
    const i = (y * iw + x) * channels;
    if (channels === 4) {
      const a = data[i + 3]! / 255;
      return data[i + c]! * a + 255 * (1 - a);
    }
    return data[i + c]!;
  };
  const bilinear = (x: number, y: number, c: number): number => {
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    return (
      (px(x0, y0, c) * (1 - fx) + px(x0 + 1, y0, c) * fx) * (1 - fy) +
      (px(x0, y0 + 1, c) * (1 - fx) + px(x0 + 1, y0 + 1, c) * fx) * fy
    );
  };
  const x0 = rect.cx - (rect.width / 2) * ux - (rect.height / 2) * vx;
  const y0 = rect.cy - (rect.width / 2) * uy - (rect.height / 2) * vy;
  for (let j = 0; j < REC_HEIGHT; j++) {
    for (let i = 0; i < width; i++) {
      const acc = [0, 0, 0];
      for (let a = 0; a < k; a++) {
        for (let b = 0; b < k; b++) {
          const u = (i + (b + 0.5) / k) * su;
          const v = (j + (a + 0.5) / k) * sv;
          const x = x0 + u * ux + v * vx - 0.5;
          const y = y0 + u * uy + v * vy - 0.5;
          for (let c = 0; c < 3; c++) acc[c]! += bilinear(x, y, c);
        }
      }
      for (let c = 0; c < 3; c++) {
        // Tensor channel c is B, G, R: source channel 2 - c.
        out[c * plane + j * stride + i] = acc[2 - c]! / (k * k) / 127.5 - 1;
      }
    }
  }
}

export interface TextRecogniser {
  recognise(image: RawImageInput, rects: RotatedRect[]): Promise<Decoded[]>;
  release(): Promise<void>;
}

export async function createTextRecogniser(
  modelPath: string,
  dictionaryPath: string,
  sessionOptions: ort.InferenceSession.SessionOptions,
  fuse = true,
): Promise<TextRecogniser> {
  const dictionary = loadDictionary(dictionaryPath);
  const { session } = await createFusedSession(modelPath, sessionOptions, fuse);
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  return {
    async recognise(image, rects) {
      const results: Decoded[] = new Array(rects.length);
      // Similar widths share a batch, as PaddleOCR sorts by aspect ratio, so padding stays small.
      const order = rects.map((r, i) => ({ i, w: cropWidth(r) })).sort((a, b) => a.w - b.w);
      for (let s = 0; s < order.length; s += BATCH) {
        const batch = order.slice(s, s + BATCH);
        const stride = Math.max(REC_MIN_WIDTH, ...batch.map((b) => b.w));
        const size = 3 * REC_HEIGHT * stride;
        const x = new Float32Array(size * batch.length);
        batch.forEach((b, n) => {
          sampleCrop(image, rects[b.i]!, b.w, x.subarray(n * size, (n + 1) * size), stride);
        });
        const r = await session.run({
          [input]: new ort.Tensor("float32", x, [batch.length, 3, REC_HEIGHT, stride]),
        });
        const y = r[output]!;
        const [, steps, classes] = y.dims as [number, number, number];
        const probs = y.data as Float32Array;
        batch.forEach((b, n) => {
          results[b.i] = ctcGreedy(probs, steps, classes, dictionary, n * steps * classes);
        });
      }
      return results;
    },
    release: () => session.release(),
  };
}
