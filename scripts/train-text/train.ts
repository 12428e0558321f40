/**
 * Trains the text model and exports it to ONNX: `npm run train:text`.
 *
 * Model: hashed features (src/classify/text/features.ts) → embedding bag (a row of E per
 * feature, weighted by the feature's value) → bias, ReLU → linear → sigmoid, one output per
 * category. Trained with per-example SGD on binary cross-entropy, seeded (mulberry32), on the
 * train split of datasets/prompts/prompts.jsonl. The exported graph is then run with
 * onnxruntime-node on every training prompt and compared with the training-time forward pass;
 * the script fails if they differ by more than 1e-4.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { CATEGORIES } from "../../src/classify/categories.js";
import { loadConfusableFold } from "../../src/classify/text/confusables.js";
import {
  FEATURE_VERSION,
  featurise,
  type SparseFeatures,
} from "../../src/classify/text/features.js";
import { loadEmoji } from "../../src/classify/text/lexicon-load.js";
import { MODEL_IO, type ModelMeta } from "../../src/classify/text/model.js";
import { createNormaliser } from "../../src/classify/text/normalise.js";
import { encodeModel, FLOAT, INT64 } from "./onnx-proto.js";

const SEED = 20250611;
const DIM = 1 << 14;
const HIDDEN = 32;
const EPOCHS = 8;
const LR = 0.2;
const C = CATEGORIES.length;

const root = new URL("../../", import.meta.url).pathname;
const outDir = join(root, "models/text-classifier");

/** mulberry32: a small seeded PRNG, so runs are reproducible bit for bit. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row {
  f: SparseFeatures;
  y: Float32Array;
}

const normalise = createNormaliser({
  confusables: loadConfusableFold(),
  emoji: loadEmoji(join(root, "policies/lexicons")),
});
const segmenter = new Intl.Segmenter("zh", { granularity: "word" });
const lines = readFileSync(join(root, "datasets/prompts/prompts.jsonl"), "utf8").trim().split("\n");
const rows: Row[] = [];
for (const line of lines) {
  const e = JSON.parse(line) as { split: string; text: string; labels: string[] };
  if (e.split !== "train") continue;
  const y = new Float32Array(C);
  CATEGORIES.forEach((c, i) => {
    y[i] = e.labels.includes(c) ? 1 : 0;
  });
  rows.push({ f: featurise(normalise(e.text).text, { dim: DIM }, segmenter), y });
}

const rand = mulberry32(SEED);
const E = new Float32Array(DIM * HIDDEN).map(() => (rand() - 0.5) * 0.2);
const b1 = new Float32Array(HIDDEN);
const W2 = new Float32Array(HIDDEN * C).map(() => (rand() - 0.5) * 0.6);
const b2 = new Float32Array(C).fill(-2);

function forward(f: SparseFeatures, h: Float32Array, out: Float32Array): void {
  h.set(b1);
  for (let k = 0; k < f.indices.length; k++) {
    const row = f.indices[k]! * HIDDEN;
    const v = f.values[k]!;
    for (let j = 0; j < HIDDEN; j++) h[j]! += v * E[row + j]!;
  }
  for (let j = 0; j < HIDDEN; j++) if (h[j]! < 0) h[j] = 0;
  for (let c = 0; c < C; c++) {
    let z = b2[c]!;
    for (let j = 0; j < HIDDEN; j++) z += h[j]! * W2[j * C + c]!;
    out[c] = 1 / (1 + Math.exp(-z));
  }
}

const h = new Float32Array(HIDDEN);
const p = new Float32Array(C);
const dh = new Float32Array(HIDDEN);
const order = rows.map((_, i) => i);
for (let epoch = 0; epoch < EPOCHS; epoch++) {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let loss = 0;
  const lr = LR * (1 - epoch / EPOCHS) + 0.01;
  for (const idx of order) {
    const { f, y } = rows[idx]!;
    forward(f, h, p);
    dh.fill(0);
    for (let c = 0; c < C; c++) {
      const g = p[c]! - y[c]!;
      loss -= y[c]! * Math.log(p[c]! + 1e-7) + (1 - y[c]!) * Math.log(1 - p[c]! + 1e-7);
      b2[c]! -= lr * g;
      for (let j = 0; j < HIDDEN; j++) {
        dh[j]! += g * W2[j * C + c]!;
        W2[j * C + c]! -= lr * g * h[j]!;
      }
    }
    for (let j = 0; j < HIDDEN; j++) if (h[j]! <= 0) dh[j] = 0;
    for (let j = 0; j < HIDDEN; j++) b1[j]! -= lr * dh[j]!;
    for (let k = 0; k < f.indices.length; k++) {
      const row = f.indices[k]! * HIDDEN;
      const v = f.values[k]!;
      for (let j = 0; j < HIDDEN; j++) E[row + j]! -= lr * v * dh[j]!;
    }
  }
  if (epoch % 5 === 4 || epoch === EPOCHS - 1) {
    console.log(`epoch ${epoch + 1}: mean loss ${(loss / rows.length).toFixed(4)}`);
  }
}

const bytes = encodeModel({
  opset: 13,
  producer: "hallmark scripts/train-text",
  graphName: "text_classifier",
  inputs: [
    { name: MODEL_IO.indices, elemType: INT64, shape: ["k"] },
    { name: MODEL_IO.values, elemType: FLOAT, shape: [1, "k"] },
  ],
  outputs: [{ name: MODEL_IO.scores, elemType: FLOAT, shape: [1, C] }],
  initializers: [
    { name: "E", dataType: FLOAT, dims: [DIM, HIDDEN], data: E },
    { name: "b1", dataType: FLOAT, dims: [HIDDEN], data: b1 },
    { name: "W2", dataType: FLOAT, dims: [HIDDEN, C], data: W2 },
    { name: "b2", dataType: FLOAT, dims: [C], data: b2 },
  ],
  nodes: [
    { name: "bag", op: "Gather", inputs: ["E", MODEL_IO.indices], outputs: ["rows"] },
    { name: "pool", op: "MatMul", inputs: [MODEL_IO.values, "rows"], outputs: ["h0"] },
    { name: "bias1", op: "Add", inputs: ["h0", "b1"], outputs: ["h1"] },
    { name: "relu", op: "Relu", inputs: ["h1"], outputs: ["h2"] },
    { name: "out", op: "MatMul", inputs: ["h2", "W2"], outputs: ["z0"] },
    { name: "bias2", op: "Add", inputs: ["z0", "b2"], outputs: ["z1"] },
    { name: "sigmoid", op: "Sigmoid", inputs: ["z1"], outputs: [MODEL_IO.scores] },
  ],
  metadata: { categories: CATEGORIES.join(","), featureVersion: String(FEATURE_VERSION) },
});

// Check the exported graph against the training-time forward pass on every training prompt.
const session = await InferenceSession.create(bytes, { intraOpNumThreads: 1 });
let maxDiff = 0;
for (const { f } of rows) {
  forward(f, h, p);
  const k = f.indices.length;
  const out = await session.run({
    [MODEL_IO.indices]: new Tensor(
      "int64",
      BigInt64Array.from(f.indices, (i) => BigInt(i)),
      [k],
    ),
    [MODEL_IO.values]: new Tensor("float32", f.values, [1, k]),
  });
  const got = out[MODEL_IO.scores]!.data as Float32Array;
  for (let c = 0; c < C; c++) maxDiff = Math.max(maxDiff, Math.abs(got[c]! - p[c]!));
}
await session.release();
console.log(
  `ONNX vs training forward pass: max |diff| = ${maxDiff.toExponential(2)} over ${rows.length} prompts`,
);
if (maxDiff > 1e-4) throw new Error("exported model does not match the trained one");

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "model.onnx"), bytes);
const sha256 = createHash("sha256").update(bytes).digest("hex");
const meta: ModelMeta = {
  featureVersion: FEATURE_VERSION,
  dim: DIM,
  hidden: HIDDEN,
  categories: [...CATEGORIES],
  sha256,
  seed: SEED,
};
writeFileSync(join(outDir, "model.json"), `${JSON.stringify(meta, null, 2)}\n`);
console.log(`wrote models/text-classifier/model.onnx (${bytes.length} bytes, sha256 ${sha256})`);
