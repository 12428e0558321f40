/**
 * Prompt screening speed: `npx tsx bench/text.bench.ts`. One classifier (lexicons, list and the
 * ONNX model, loaded once) scores the prompts of datasets/prompts/prompts.jsonl in turn; the
 * baselines in the same run are normalisation alone and the lexicon-only classifier. Reports
 * per-prompt latency percentiles over every prompt of the set (several passes). The last row
 * is the first prompt after a full garbage collection, which discards V8's compiled regular
 * expressions (see PatternScreen in src/classify/text/lexicon-match.ts): each of 40 prompts of
 * the set is scored straight after four `gc()` calls, the collections themselves not timed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
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
// V8's documented way to reach gc() without the command-line flag.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const afterGc: number[] = [];
for (let k = 0; k < 40; k++) {
  // V8 flushes code that has gone unused through several full collections, as between two
  // requests of a busy gateway; one collection is not enough.
  for (let g = 0; g < 4; g++) gc();
  const started = performance.now();
  await full.classify(prompts[(k * 7) % prompts.length]!);
  afterGc.push(performance.now() - started);
}
afterGc.sort((a, b) => a - b);
const gcP50 = afterGc[Math.floor(afterGc.length / 2)]!;
console.log(
  `${"full, first prompt after full GCs".padEnd(38)} ${String(afterGc.length).padStart(7)} ${us(gcP50).padStart(9)} ${us(afterGc.at(-1)).padStart(9)}   ${baseP50 ? (gcP50 / baseP50).toFixed(1) : "-"}x  (p99 column: the slowest)`,
);
await full.close();
await lexiconOnly.close();
