/**
 * Prompt screening speed: `npx tsx bench/text.bench.ts`. One classifier (lexicons, list and the
 * ONNX model, loaded once) scores the prompts of datasets/prompts/prompts.jsonl in turn; the
 * baselines in the same run are normalisation alone and the lexicon-only classifier. Reports
 * per-prompt latency percentiles over every prompt of the set (several passes).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Bench } from "tinybench";
import { createTextClassifier } from "../src/classify/text/index.js";

const root = new URL("../", import.meta.url).pathname;
const prompts = readFileSync(join(root, "datasets/prompts/prompts.jsonl"), "utf8")
  .trim()
  .split("\n")
  .map((l) => (JSON.parse(l) as { text: string }).text);
const lexiconDir = join(root, "policies/lexicons");
const publicFiguresDir = join(root, "policies/public-figures");
const full = await createTextClassifier({
  lexiconDir,
  publicFiguresDir,
  modelPath: join(root, "models/text-classifier/model.onnx"),
});
const lexiconOnly = await createTextClassifier({ lexiconDir, publicFiguresDir });
const long = prompts.slice(0, 60).join(". ").slice(0, 4_000);

let i = 0;
const next = () => prompts[i++ % prompts.length]!;
const bench = new Bench({ time: 3_000, warmup: true, warmupTime: 500 });
bench
  .add("baseline: normalise only", () => {
    full.normalise(next());
  })
  .add("lexicons + list (no model)", async () => {
    await lexiconOnly.classify(next());
  })
  .add("full: lexicons + list + ONNX model", async () => {
    await full.classify(next());
  })
  .add("full, one 4,000-character prompt", async () => {
    await full.classify(long);
  });
await bench.run();

const us = (ms: number | undefined) => (ms === undefined ? "-" : `${(ms * 1000).toFixed(1)} µs`);
const base = bench.tasks[0]!.result;
const baseP50 = base && "latency" in base ? base.latency.p50 : undefined;
console.log(`prompts: ${prompts.length}, node ${process.version}`);
console.log("task                                   samples       p50       p99   p50 / baseline");
for (const task of bench.tasks) {
  const r = task.result;
  if (r === undefined || !("latency" in r)) continue;
  const ratio = baseP50 && r.latency.p50 ? (r.latency.p50 / baseP50).toFixed(1) : "-";
  console.log(
    `${task.name.padEnd(38)} ${String(r.latency.samplesCount).padStart(7)} ${us(r.latency.p50).padStart(9)} ${us(r.latency.p99).padStart(9)}   ${ratio}x`,
  );
}
await full.close();
await lexiconOnly.close();
