/**
 * `npm run eval:image`: nudity false-positive rate on benign images the project can ship or
 * build, and timings. Benign set: Meta's PDQ test photos (BSD, src/provenance/fingerprint/
 * fixtures), eight edits of each (crops, flips, tints, blur, greyscale, resize, JPEG q40), and
 * synthetic scenes (gradients, noise, shapes, rendered text, flat illustration). Small and not
 * representative of real traffic: a floor, not a certificate. Faces and OCR have their own
 * evaluations (npm run eval:faces, npm run eval:ocr).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import sharp, { type Sharp } from "sharp";
import { createImageClassifier } from "../src/classify/image/index.js";

const root = join(import.meta.dirname, "..");
const fixtures = join(root, "src/provenance/fingerprint/fixtures");
const THRESHOLD = 0.5;

const edits: Array<[string, (s: Sharp) => Sharp]> = [
  ["orig", (s) => s],
  ["crop", (s) => s.resize(400, 400, { fit: "cover", position: "attention" })],
  ["flop", (s) => s.flop()],
  ["warm", (s) => s.tint({ r: 255, g: 190, b: 150 })],
  ["blur", (s) => s.blur(4)],
  ["grey", (s) => s.greyscale()],
  ["small", (s) => s.resize(160)],
  ["q40", (s) => s.jpeg({ quality: 40 })],
];
const svg = (body: string, bg: string) =>
  Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512"><rect width="100%" height="100%" fill="${bg}"/>${body}</svg>`,
  );
const scenes: Array<[string, Buffer]> = [];
const palette = [
  "#f4e1c1",
  "#e0b49a",
  "#c68642",
  "#8d5524",
  "#ffdbac",
  "#88aadd",
  "#224466",
  "#dddddd",
];
palette.forEach((bg, i) => {
  scenes.push([`flat-${i}`, svg("", bg)]);
  scenes.push([
    `circles-${i}`,
    svg(
      `<circle cx="256" cy="200" r="${60 + i * 10}" fill="${palette[(i + 3) % 8]}"/><ellipse cx="256" cy="400" rx="150" ry="90" fill="${palette[(i + 5) % 8]}"/>`,
      bg,
    ),
  ]);
  scenes.push([
    `text-${i}`,
    svg(
      `<text x="30" y="260" font-size="${36 + i * 4}" font-family="sans-serif">Sample caption ${i}</text>`,
      bg,
    ),
  ]);
  scenes.push([
    `stripes-${i}`,
    svg(
      Array.from(
        { length: 8 },
        (_, k) => `<rect x="${k * 64}" width="32" height="512" fill="${palette[(i + k) % 8]}"/>`,
      ).join(""),
      bg,
    ),
  ]);
});

const images = await createImageClassifier({ modelsDir: join(root, "models") });
const results: Array<{ name: string; sexual: number; ms: number }> = [];
for (const file of readdirSync(fixtures)
  .filter((f) => f.endsWith(".jpg"))
  .sort()) {
  for (const [edit, fn] of edits) {
    const bytes = await fn(sharp(readFileSync(join(fixtures, file))))
      .jpeg()
      .toBuffer();
    const r = await images.classify(bytes);
    results.push({ name: `${file}/${edit}`, sexual: r.scores.sexual.score, ms: r.timings.total });
  }
}
for (const [name, body] of scenes) {
  const r = await images.classify(await sharp(body).png().toBuffer());
  results.push({ name: `synthetic/${name}`, sexual: r.scores.sexual.score, ms: r.timings.total });
}
await images.close();

const fp = results.filter((r) => r.sexual >= THRESHOLD);
const ms = results.map((r) => r.ms).sort((a, b) => a - b);
const pct = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(1);
console.log(
  `benign images: ${results.length} (photos ${results.length - scenes.length}, synthetic ${scenes.length})`,
);
console.log(
  `nudity false positives at sexual >= ${THRESHOLD}: ${fp.length} (${((100 * fp.length) / results.length).toFixed(1)}%, goal <= 1%)`,
);
for (const r of fp) console.log(`  ${r.name}: ${r.sexual.toFixed(3)}`);
const top = [...results].sort((a, b) => b.sexual - a.sexual).slice(0, 3);
console.log(
  `highest sexual scores: ${top.map((r) => `${r.name} ${r.sexual.toFixed(3)}`).join(", ")}`,
);
console.log(`classify time per image (mixed sizes): p50 ${pct(0.5)} ms, p90 ${pct(0.9)} ms`);
console.log(
  "face detection recall: npm run eval:faces -- <skimage data dir> (models/faces/README.md)",
);
console.log("OCR recall on planted watermark text: npm run eval:ocr (models/ocr/README.md)");
