/**
 * Image screening speed: `npx tsx bench/image.bench.ts`. One classifier (ONNX nudity session
 * and hash list loaded once) screens a 1024×1024 image, as encoded JPEG bytes and as raw RGB;
 * the baseline in the same run is sharp decoding the same JPEG and resizing it to 224×224 (the
 * least any image model needs). Also: PDQ alone, and resident memory with the models loaded.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { Bench } from "tinybench";
import { createImageClassifier } from "../src/classify/image/index.js";
import { parseHashList, pdqHashRawForLookup } from "../src/provenance/fingerprint/index.js";

const root = new URL("../", import.meta.url).pathname;
const photo = readFileSync(join(root, "src/provenance/fingerprint/fixtures/bridge-1-original.jpg"));
const jpeg = await sharp(photo)
  .resize(1024, 1024, { fit: "fill" })
  .jpeg({ quality: 90 })
  .toBuffer();
const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
const raw = { data, width: info.width, height: info.height, channels: 3 as const };
const list = parseHashList(
  "bench",
  Array.from(
    { length: 10_000 },
    (_, i) => `${(i * 2654435761).toString(16).padStart(8, "0").repeat(8).slice(0, 64)},e${i}`,
  ).join("\n"),
);
const images = await createImageClassifier({ modelsDir: join(root, "models"), hashLists: [list] });
const rssMb = () => (process.memoryUsage().rss / 2 ** 20).toFixed(0);

const bench = new Bench({ time: 4_000, warmup: true, warmupTime: 1_000 });
bench
  .add("baseline: sharp decode + resize 224", async () => {
    await sharp(jpeg).resize(224, 224, { fit: "fill" }).raw().toBuffer();
  })
  .add("PDQ only (raw 1024², shrink to 512)", async () => {
    await pdqHashRawForLookup(raw);
  })
  .add("classify JPEG 1024² (all checks)", async () => {
    await images.classify(jpeg);
  })
  .add("classify raw RGB 1024² (all checks)", async () => {
    await images.classify(raw);
  });
await bench.run();

const ms = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(1)} ms`);
const base = bench.tasks[0]!.result;
const baseP50 = base && "latency" in base ? base.latency.p50 : undefined;
console.log(
  `node ${process.version}, models: ${JSON.stringify(images.models)}, hash list: 10,000 entries`,
);
console.log("task                                    samples       p50       p99   p50 / baseline");
for (const task of bench.tasks) {
  const r = task.result;
  if (r === undefined || !("latency" in r)) continue;
  const ratio = baseP50 && r.latency.p50 ? (r.latency.p50 / baseP50).toFixed(1) : "-";
  console.log(
    `${task.name.padEnd(39)} ${String(r.latency.samplesCount).padStart(7)} ${ms(r.latency.p50).padStart(9)} ${ms(r.latency.p99).padStart(9)}   ${ratio}x`,
  );
}
console.log(`resident memory with the models loaded: ${rssMb()} MB`);
await images.close();
