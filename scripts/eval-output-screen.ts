/**
 * `npx tsx scripts/eval-output-screen.ts [count] [--prompt "…"] [--seed N]`: false alarms of the
 * output screen on the embedded placeholder's scenes. Draws `count` scenes (512², default 500)
 * from one prompt with random seeds (seeds 0–99 first), screens each as the gateway does (the
 * runtime's image classifier and policy, on an in-memory PGlite), and prints every scene the
 * policy would not allow, with what fired and the text read. The scenes are benign by
 * construction, so each one printed is a false alarm. `--seed N` makes the random seeds
 * repeatable.
 *
 * A CI run's client test once drew a scene in which OCR read a lone "X", which the lexicon then
 * matched to "xxx" (docs/text-screening.md): 2 of 1,500 scenes before that fix, 0 of 1,500 after.
 */
import { parseArgs } from "node:util";
import sharp from "sharp";
import { testDatabases } from "../src/db/test-databases.js";
import { drawScene } from "../src/generate/placeholder.js";
import { decodeOutputs, screenOutputs } from "../src/pipeline/screen-output.js";
import { decide } from "../src/policy/index.js";
import { prng } from "../src/provenance/watermark/eval/scenes.js";
import { startTestGateway } from "../src/runtime/test-gateway.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    prompt: { type: "string", default: "a watercolour fox in the snow" },
    seed: { type: "string" },
  },
});
const count = Number(positionals[0] ?? 500);
const SIDE = 512;

// Repeatable seeds when --seed is given (mulberry32, as the watermark evaluation draws them).
const next = prng(values.seed === undefined ? Date.now() : Number(values.seed));
// The gateway draws a missing seed from [0, 2³¹ − 1) (src/pipeline/run.ts).
const seeds = Array.from({ length: count }, (_, i) =>
  i < 100 ? i : Math.floor(next() * (2 ** 31 - 1)),
);

const gateway = await startTestGateway(testDatabases()[0]!);
const deps = gateway.runtime.pipeline;
if (!deps.image) throw new Error("the image classifier is not configured (models/ missing?)");
const classifier = deps.image;
const started = performance.now();
let alarms = 0;

async function screen(seed: number): Promise<void> {
  const raw = drawScene(values.prompt, seed, SIDE, SIDE);
  const bytes = await sharp(raw, { raw: { width: SIDE, height: SIDE, channels: 3 } })
    .png({ compressionLevel: 3 })
    .toBuffer();
  const image = { bytes, mediaType: "image/png" as const, width: SIDE, height: SIDE, seed };
  const outputs = await decodeOutputs([image], deps.limits.maxInputPixels);
  const result = await screenOutputs(classifier, outputs, deps.policy);
  const decision = decide(deps.policy, result.screens);
  if (decision.action === "allow" && result.hashListMatches.length === 0) return;
  alarms++;
  const read = result.results[0]?.text.map((l) => l.text) ?? [];
  console.log(
    `seed ${seed}: ${decision.action} ${JSON.stringify(decision.fired)} text read ${JSON.stringify(read)}`,
  );
}

try {
  // Four at a time: the pool's two threads stay busy, as under load.
  for (let i = 0; i < seeds.length; i += 4) await Promise.all(seeds.slice(i, i + 4).map(screen));
} finally {
  await gateway.close();
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `${count} placeholder scenes of ${JSON.stringify(values.prompt)}: ${alarms} not allowed (${seconds.toFixed(0)} s)`,
);
