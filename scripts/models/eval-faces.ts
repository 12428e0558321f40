/**
 * `npx tsx scripts/models/eval-faces.ts <skimage data dir>`: face detection on scikit-image's
 * LFW subset (Debian python3-skimage: skimage/data/lfw_subset.npy, 100 face crops and 100
 * non-face crops, 25×25 grey; `apt-get download python3-skimage && dpkg -x` is enough) at several
 * detector thresholds, and the apparent age of each detected face. Each 25×25 crop is set in the
 * middle of a 75×75 grey canvas (a face a third of the frame, as in a portrait) and scaled ×4.
 * Also the scikit-image sample photos with and without a face (astronaut, camera; coffee,
 * chelsea the cat, horse, rocket...), public domain or CC0 per skimage/data/README.txt.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { decodeForScreening } from "../../src/classify/image/decode.js";
import { createAgeModel } from "../../src/classify/image/faces-age.js";
import { createFaceDetector } from "../../src/classify/image/faces-detect.js";

const root = join(import.meta.dirname, "..", "..");
const dataDir = process.argv[2] ?? "/usr/lib/python3/dist-packages/skimage/data";

/** Reads a little-endian float64 .npy array (the only kind this file needs). */
function readNpy(path: string): { shape: number[]; data: Float64Array } {
  const b = readFileSync(path);
  const headerLen = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + headerLen).toString("latin1");
  if (!header.includes("'<f8'") || header.includes("'fortran_order': True")) {
    throw new Error(`unexpected .npy header ${header}`);
  }
  const shape = header
    .match(/'shape': \(([^)]*)\)/)![1]!
    .split(",")
    .filter((s) => s.trim() !== "")
    .map(Number);
  const start = 10 + headerLen;
  const data = new Float64Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
  return { shape, data };
}

const lfw = readNpy(join(dataDir, "lfw_subset.npy"));
const [count, h, w] = lfw.shape as [number, number, number];
const detector = await createFaceDetector(
  join(root, "models/faces/blazeface.onnx"),
  { minScore: 0.3, iouThreshold: 0.3, maxFaces: 16 },
  { intraOpNumThreads: 1 },
);
const age = await createAgeModel(join(root, "models/faces/faceres.onnx"), { intraOpNumThreads: 1 });

const best: number[] = [];
const ages: number[] = [];
for (let i = 0; i < count; i++) {
  const grey = Buffer.alloc(w * h);
  for (let p = 0; p < w * h; p++) grey[p] = Math.round(lfw.data[i * w * h + p]! * 255);
  const png = await sharp(grey, { raw: { width: w, height: h, channels: 1 } })
    .extend({ top: h, bottom: h, left: w, right: w, background: "#808080" })
    .resize(w * 12, h * 12, { kernel: "cubic" })
    .png()
    .toBuffer();
  const img = await decodeForScreening(png);
  const faces = await detector.detect(img);
  best.push(faces[0]?.score ?? 0);
  if (i < 100 && faces[0] !== undefined) ages.push((await age.estimate(img, [faces[0]]))[0]!);
}
console.log("LFW subset (scikit-image): 100 faces, 100 non-faces, 25x25 grey, set in 75x75, x4");
console.log("threshold  faces found  non-faces flagged");
for (const t of [0.5, 0.6, 0.75, 0.9]) {
  const tp = best.slice(0, 100).filter((s) => s >= t).length;
  const fp = best.slice(100).filter((s) => s >= t).length;
  console.log(
    `${t.toFixed(2).padStart(9)}  ${String(tp).padStart(8)}/100  ${String(fp).padStart(12)}/100`,
  );
}
ages.sort((a, b) => a - b);
const q = (f: number) => ages[Math.floor(f * (ages.length - 1))]!.toFixed(1);
console.log(
  `apparent age of detected LFW faces (adults in news photos): n=${ages.length}, min ${q(0)}, p10 ${q(0.1)}, median ${q(0.5)}, p90 ${q(0.9)}; under 18: ${ages.filter((a) => a < 18).length}, under 25: ${ages.filter((a) => a < 25).length}`,
);
for (const f of [
  "astronaut.png",
  "camera.png",
  "coffee.png",
  "chelsea.png",
  "horse.png",
  "rocket.jpg",
  "motorcycle_left.png",
  "hubble_deep_field.jpg",
  "page.png",
  "text.png",
]) {
  const img = await decodeForScreening(readFileSync(join(dataDir, f)));
  const faces = await detector.detect(img);
  const a = await age.estimate(img, faces);
  console.log(
    `${f}: ${faces.map((x, k) => `face ${x.score.toFixed(2)} age ${a[k]!.toFixed(1)}`).join(", ") || "no face"}`,
  );
}
await detector.release();
await age.release();
