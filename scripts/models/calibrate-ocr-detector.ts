/**
 * `npx tsx scripts/models/calibrate-ocr-detector.ts [images]`: measures the activation ranges of
 * PaddleOCR's detector (as `prepareForQuantisation` gives it) on the calibration set
 * (ocr-calibration-set.ts) and writes them to models/ocr/detector-int8-ranges.json, from which
 * the gateway builds its 8-bit detector as it loads (src/classify/onnx-graph/quantize.ts).
 *
 * Each tensor's range is the widest, over the pictures, of its 0.001 % and 99.999 % points
 * (on up to 400,000 values sampled at a fixed stride): a few extreme activations would
 * otherwise set the step of every other value. Each picture is seen upright at the upright
 * pass's side (960) and, every other one, turned 30° at the turned passes' side (640).
 * Values are written to 6 significant digits, so the file does not depend on the last bits of
 * a machine's float kernels.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { packagedOcrModels } from "../../src/classify/image/ocr.js";
import { detectionSize, detectionTensor } from "../../src/classify/image/ocr-detect.js";
import {
  calibrationTensors,
  encodeModel,
  prepareForQuantisation,
} from "../../src/classify/onnx-graph/index.js";
import { buildCalibrationSet } from "./ocr-calibration-set.js";

/** The first node run in 8 bits: the stem and the first four blocks stay float. */
export const FIRST_QUANTISED = "p2o.Conv.12";
const TAIL = 1e-5;
const SAMPLES = 400_000;

const root = join(import.meta.dirname, "..", "..");
const count = Number(process.argv[2] ?? 24);
const detector = packagedOcrModels().detection;
const bytes = readFileSync(detector);
const { graph } = prepareForQuantisation(bytes);
const names = calibrationTensors(graph);
graph.extraOutputs = names;
const session = await ort.InferenceSession.create(encodeModel(graph), {
  intraOpNumThreads: 2,
  logSeverityLevel: 3,
});
const ranges = new Map<string, [number, number]>();

async function observe(png: Buffer, side: number, turn: number) {
  const { data, info } = await sharp(png)
    .rotate(turn, { background: "#808080" })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const channels = info.channels === 4 ? 4 : 3;
  const image = { data, width: info.width, height: info.height, channels } as const;
  const { width: w, height: h } = detectionSize(image.width, image.height, side);
  const x = await detectionTensor(image, w, h);
  const out = await session.run({
    [session.inputNames[0]!]: new ort.Tensor("float32", x, [1, 3, h, w]),
  });
  const values: Record<string, Float32Array> = { [session.inputNames[0]!]: x };
  for (const n of names) if (out[n]) values[n] = out[n].data as Float32Array;
  for (const [n, d] of Object.entries(values)) {
    const [lo, hi] = tails(d);
    const r = ranges.get(n);
    ranges.set(n, r ? [Math.min(r[0], lo), Math.max(r[1], hi)] : [lo, hi]);
  }
}

/**
 * The TAIL and 1 − TAIL points of up to SAMPLES values taken at a fixed stride: the k-th
 * smallest and largest, kept in two short sorted lists (k is a handful, so no full sort).
 */
function tails(d: Float32Array): [number, number] {
  const stride = Math.max(1, Math.floor(d.length / SAMPLES));
  const n = Math.ceil(d.length / stride);
  const k = Math.floor(TAIL * (n - 1)) + 1;
  const low: number[] = [];
  const high: number[] = [];
  for (let i = 0; i < d.length; i += stride) {
    const v = d[i]!;
    if (low.length < k || v < low[k - 1]!) {
      low.splice(lowerBound(low, v), 0, v);
      if (low.length > k) low.pop();
    }
    if (high.length < k || v > high[k - 1]!) {
      high.splice(
        lowerBound(
          high.map((x) => -x),
          -v,
        ),
        0,
        v,
      );
      if (high.length > k) high.pop();
    }
  }
  return [low[k - 1]!, high[k - 1]!];
}

function lowerBound(sorted: number[], v: number): number {
  let at = 0;
  while (at < sorted.length && sorted[at]! < v) at++;
  return at;
}

const set = await buildCalibrationSet(count);
for (const [i, img] of set.entries()) {
  await observe(img.png, 960, 0);
  if (i % 2 === 1) await observe(img.png, 640, 30);
}
await session.release();
const round = (v: number) => Number(v.toPrecision(6));
const file = join(root, "models", "ocr", "detector-int8-ranges.json");
const doc = {
  detector: basename(detector),
  sha256: createHash("sha256").update(bytes).digest("hex"),
  firstQuantised: FIRST_QUANTISED,
  calibration: {
    script: "scripts/models/calibrate-ocr-detector.ts",
    pictures: set.length,
    tail: TAIL,
  },
  ranges: Object.fromEntries([...ranges].map(([n, [lo, hi]]) => [n, [round(lo), round(hi)]])),
};
writeFileSync(file, `${JSON.stringify(doc, null, 1)}\n`);
console.log(`${ranges.size} tensors over ${set.length} pictures → ${file}`);
