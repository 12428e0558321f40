/**
 * Image screening speed: `npx tsx bench/image.bench.ts`. Classifiers (ONNX sessions and hash
 * list loaded once) screen a 1024×1024 image, as encoded JPEG bytes and as raw RGB; the baseline
 * in the same run is sharp decoding the same JPEG and resizing it to 224×224 (the least any
 * image model needs). Rows: PDQ alone; nudity + PDQ + hash list; text in the image (PaddleOCR
 * detection + recognition) alone on a photo with a stock-photo mark, with the models' graphs as
 * shipped and as rewritten at load (src/classify/onnx-graph), and with the default passes over
 * turned copies (HALLMARK_OCR_TURNED_PASSES, src/classify/image/ocr-turned.ts); faces + apparent age alone
 * on a portrait; every check together (as the gateway runs them, ONNX sessions on one thread
 * each), and on the text-free photo also with the turned passes forced (gate 0), the baseline
 * of the gate that skips them where the upright pass sees nothing text-like; both also with the
 * upright detection pass at 736 px instead of 960 (HALLMARK_OCR_DETECTION_SIDE) and with the
 * 8-bit text detector (HALLMARK_OCR_DETECTOR_PRECISION=int8). Also resident
 * memory with every model loaded.
 *
 * Besides wall-clock medians (inflated when other work shares the 2 cores), each row prints the
 * process CPU time per call (user + system, all threads: ONNX Runtime's included; calls run one
 * at a time), which other processes' load barely changes: what one call costs an idle core.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { Bench } from "tinybench";
import {
  createImageClassifier,
  loadCompletionTerms,
  withCompletionTerms,
} from "../src/classify/image/index.js";
import { createTextClassifier } from "../src/classify/text/index.js";
import { loadConfig } from "../src/config/index.js";
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
const one = { intraOpNumThreads: 1 };
// The gateway's default OCR passes over turned copies (HALLMARK_OCR_TURNED_PASSES).
const turnedPasses = loadConfig({}).ocr.turnedPasses;
const images = await createImageClassifier({
  modelsDir: join(root, "models"),
  hashLists: [list],
  ocr: { turnedPasses },
  textScreen: withCompletionTerms(
    await createTextClassifier({ lexiconDir: join(root, "policies/lexicons") }),
    loadCompletionTerms(join(root, "policies/lexicons")),
  ),
  sessionOptions: one,
});
// Measured before the other classifiers load: one process with every model, as the gateway runs.
const rssAllModels = (process.memoryUsage().rss / 2 ** 20).toFixed(0);
// The same, with the turned passes run on every image (HALLMARK_OCR_TURNED_PASS_GATE=0).
const imagesAlwaysTurned = await createImageClassifier({
  modelsDir: join(root, "models"),
  hashLists: [list],
  ocr: { turnedPasses, turnedPassGate: 0 },
  textScreen: withCompletionTerms(
    await createTextClassifier({ lexiconDir: join(root, "policies/lexicons") }),
    loadCompletionTerms(join(root, "policies/lexicons")),
  ),
  sessionOptions: one,
});
// The same with the upright detection pass at 736 px (HALLMARK_OCR_DETECTION_SIDE=736).
const imagesSide736 = await createImageClassifier({
  modelsDir: join(root, "models"),
  hashLists: [list],
  ocr: { turnedPasses, detectionSide: 736 },
  textScreen: withCompletionTerms(
    await createTextClassifier({ lexiconDir: join(root, "policies/lexicons") }),
    loadCompletionTerms(join(root, "policies/lexicons")),
  ),
  sessionOptions: one,
});
// The same with the 8-bit text detector (HALLMARK_OCR_DETECTOR_PRECISION=int8).
const imagesInt8 = await createImageClassifier({
  modelsDir: join(root, "models"),
  hashLists: [list],
  ocr: { turnedPasses, detectorPrecision: "int8" },
  textScreen: withCompletionTerms(
    await createTextClassifier({ lexiconDir: join(root, "policies/lexicons") }),
    loadCompletionTerms(join(root, "policies/lexicons")),
  ),
  sessionOptions: one,
});
const basic = await createImageClassifier({
  modelsDir: join(root, "models"),
  hashLists: [list],
  ocr: false,
  faces: false,
  sessionOptions: one,
});
const ocrOnly = await createImageClassifier({
  modelsDir: join(root, "none"),
  faces: false,
  sessionOptions: one,
});
const ocrTurned = await createImageClassifier({
  modelsDir: join(root, "none"),
  faces: false,
  ocr: { turnedPasses },
  sessionOptions: one,
});
// The PaddleOCR graphs as shipped, without the load-time rewrite (src/classify/onnx-graph).
const ocrShipped = await createImageClassifier({
  modelsDir: join(root, "none"),
  faces: false,
  ocr: { fuseGraphs: false },
  sessionOptions: one,
});
const facesOnly = await createImageClassifier({
  modelsDir: join(root, "models"),
  ocr: false,
  sessionOptions: one,
});

const stamped = await sharp(jpeg)
  .composite([
    {
      input: Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024"><text x="512" y="520" font-family="DejaVu Sans" font-size="72" fill="#fff" fill-opacity="0.6" text-anchor="middle" transform="rotate(-20 512 512)">Getty Images</text></svg>`,
      ),
    },
  ])
  .jpeg({ quality: 90 })
  .toBuffer();
const portrait = await sharp(join(root, "src/classify/image/fixtures/astronaut.jpg"))
  .resize(1024, 1024)
  .jpeg({ quality: 90 })
  .toBuffer();
const textFree = jpeg; // the bridge photo: no text in it
const rssMb = () => (process.memoryUsage().rss / 2 ** 20).toFixed(0);
/** CPU milliseconds per call of each task (process-wide, so ONNX Runtime's threads count). */
const cpu = new Map<string, { ms: number; calls: number }>();
const withCpu = (name: string, fn: () => Promise<unknown>): [string, () => Promise<void>] => [
  name,
  async () => {
    const start = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(start);
    const c = cpu.get(name) ?? { ms: 0, calls: 0 };
    c.ms += (used.user + used.system) / 1000;
    c.calls++;
    cpu.set(name, c);
  },
];

const bench = new Bench({ time: 4_000, warmup: true, warmupTime: 1_000 });
for (const [name, fn] of [
  withCpu("baseline: sharp decode + resize 224", () =>
    sharp(jpeg).resize(224, 224, { fit: "fill" }).raw().toBuffer(),
  ),
  withCpu("PDQ only (raw 1024², shrink to 512)", () => pdqHashRawForLookup(raw)),
  withCpu("nudity + PDQ + hash list, JPEG 1024²", () => basic.classify(jpeg)),
  withCpu("nudity + PDQ + hash list, raw RGB 1024²", () => basic.classify(raw)),
  withCpu("OCR only, graphs as shipped (unfused)", () => ocrShipped.classify(stamped)),
  withCpu("OCR only, JPEG 1024² with a mark", () => ocrOnly.classify(stamped)),
  withCpu("OCR + turned passes, 1024² with a mark", () => ocrTurned.classify(stamped)),
  withCpu("faces + age only, JPEG 1024² portrait", () => facesOnly.classify(portrait)),
  withCpu("all checks, JPEG 1024² with a mark", () => images.classify(stamped)),
  withCpu("  same, upright pass at 736 px", () => imagesSide736.classify(stamped)),
  withCpu("  same, 8-bit text detector", () => imagesInt8.classify(stamped)),
  withCpu("all checks, JPEG 1024² photo, no text", () => images.classify(textFree)),
  withCpu("  same, turned passes forced (gate 0)", () => imagesAlwaysTurned.classify(textFree)),
  withCpu("  same as above, upright pass at 736 px", () => imagesSide736.classify(textFree)),
  withCpu("  same as above, 8-bit text detector", () => imagesInt8.classify(textFree)),
  withCpu("all checks, 1024² portrait, ages", () => images.classify(portrait)),
  // As the output screen runs them: the age model only from the policy's sexual review
  // threshold on (default 0.5), where the minors rule reads ages.
  withCpu("all checks, portrait, output screen", () =>
    images.classify(portrait, { ageFromSexual: 0.5 }),
  ),
] as const) {
  bench.add(name, fn);
}
await bench.run();

const ms = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(1)} ms`);
const base = bench.tasks[0]!.result;
const baseP50 = base && "latency" in base ? base.latency.p50 : undefined;
console.log(
  `node ${process.version}, models: ${JSON.stringify(images.models)}, hash list: 10,000 entries`,
);
console.log(
  "task                                    samples       p50       p99   p50 / baseline   CPU ms/call",
);
for (const task of bench.tasks) {
  const r = task.result;
  if (r === undefined || !("latency" in r)) continue;
  const c = cpu.get(task.name);
  const ratio = baseP50 && r.latency.p50 ? (r.latency.p50 / baseP50).toFixed(1) : "-";
  console.log(
    `${task.name.padEnd(39)} ${String(r.latency.samplesCount).padStart(7)} ${ms(r.latency.p50).padStart(9)} ${ms(r.latency.p99).padStart(9)}   ${`${ratio}x`.padStart(14)}   ${c ? (c.ms / c.calls).toFixed(1) : "-"}`,
  );
}
console.log(
  `resident memory with every model loaded (one classifier): ${rssAllModels} MB; with the nine bench classifiers: ${rssMb()} MB`,
);
for (const c of [
  basic,
  ocrOnly,
  ocrTurned,
  ocrShipped,
  facesOnly,
  images,
  imagesAlwaysTurned,
  imagesSide736,
  imagesInt8,
]) {
  await c.close();
}
