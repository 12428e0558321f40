/**
 * Watermark speed on one core: `npx tsx bench/watermark.bench.ts`.
 *
 * Embed (a landscape with a flat sky, and foliage, textured everywhere) and detect (marked and
 * unmarked) at 512², 1024² and 2048², excluding image decoding,
 * beside two baselines measured in the same run: sharp decoding the same image from PNG to
 * raw pixels, and one plain JavaScript pass that reads every pixel once (the floor for any
 * full-resolution work). Issue 11 asks for embed ≤ 20 ms and detect ≤ 30 ms at 1024².
 */
import sharp from "sharp";
import { Bench } from "tinybench";
import { makeScene } from "../src/provenance/watermark/eval/scenes.js";
import {
  createWatermarker,
  type RawImage,
  WatermarkKey,
} from "../src/provenance/watermark/index.js";

const wm = createWatermarker({ key: new WatermarkKey(new Uint8Array(32).fill(3)) });
const payload = { issuerKeyId: 1, markId: "0123456789ab" };

function pixelPass(image: RawImage): number {
  const d = image.data;
  let s = 0;
  for (let i = 0; i < d.length; i += 3) s += 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
  return s;
}

const rows: string[][] = [];
for (const side of [512, 1024, 2048]) {
  const scene = makeScene("landscape", side, side, 1);
  // Foliage is textured everywhere: no flat area whose pixels embed can copy unchanged.
  const textured = makeScene("foliage", side, side, 1);
  const embedded = wm.embed(scene, payload);
  if (!embedded.applied) throw new Error("not marked");
  const marked = embedded.image;
  const png = await sharp(scene.data, { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
  const bench = new Bench({ time: 1500, warmup: true });
  bench
    .add("baseline: sharp PNG → raw decode", async () => {
      await sharp(png).raw().toBuffer();
    })
    .add("baseline: one JS pass over the pixels", () => {
      pixelPass(scene);
    })
    .add("embed", () => {
      wm.embed(scene, payload);
    })
    .add("embed (foliage: textured everywhere)", () => {
      wm.embed(textured, payload);
    })
    .add("detect (marked)", () => {
      wm.detect(marked);
    })
    .add("detect (unmarked)", () => {
      wm.detect(scene);
    });
  await bench.run();
  const pass = bench.tasks[1]!.result;
  const passMedian = "latency" in pass ? pass.latency.p50 : Number.NaN;
  for (const task of bench.tasks) {
    const r = task.result;
    if (!("latency" in r)) continue;
    rows.push([
      `${side}²`,
      task.name,
      r.latency.p50.toFixed(2),
      r.latency.p99.toFixed(2),
      (r.latency.p50 / passMedian).toFixed(1),
    ]);
  }
}

console.log("| size | task | median ms | p99 ms | × one pixel pass |");
console.log("| --- | --- | --- | --- | --- |");
for (const row of rows) console.log(`| ${row.join(" | ")} |`);
