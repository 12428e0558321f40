/**
 * Adapter overhead: each generation backend adapter (request building, HTTP, zod parsing, image
 * checks with sharp) against its fake upstream with a fixed latency, beside the same exchange made
 * directly with fetch in the same run; and the adapter behind withRetries + withCircuitBreaker.
 * Goal: adapter p50 − direct p50 ≤ 2 ms.
 *
 * Then the local backends at 512×512, n=1: the embedded diffusion model (models/embedded-diffusion,
 * 20 steps at 32×32, upscaled by sharp) beside the procedural placeholder as the same-run
 * baseline. Goal (issue 10): the embedded model ≤ 2 s per 512×512 image on this machine.
 *
 *   npx tsx bench/generate.bench.ts [--latency 20] [--time 2000] [--size 256]
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { Bench } from "tinybench";
import {
  createAutomatic1111Generator,
  createComfyUIGenerator,
  createEmbeddedGenerator,
  createOpenAIImagesGenerator,
  createPlaceholderGenerator,
  DEFAULT_COMFYUI_WORKFLOW_PATH,
  fillComfyWorkflow,
  type Generator,
  loadComfyWorkflow,
  startFakeAutomatic1111,
  startFakeComfyUI,
  startFakeOpenAIImages,
  withCircuitBreaker,
  withRetries,
} from "../src/generate/index.js";

const { values } = parseArgs({
  options: {
    latency: { type: "string", default: "20" },
    time: { type: "string", default: "2000" },
    size: { type: "string", default: "256" },
  },
});
const latencyMs = Number(values.latency);
const size = Number(values.size);
const input = { prompt: "a blue car", width: size, height: size, n: 1, seed: 3 };
const never = new AbortController().signal;
const maxPixels = 4_194_304;
const pollIntervalMs = 5;

const a1111 = await startFakeAutomatic1111({ latencyMs });
const openai = await startFakeOpenAIImages({ latencyMs });
const comfy = await startFakeComfyUI({ latencyMs });
const workflow = await loadComfyWorkflow(DEFAULT_COMFYUI_WORKFLOW_PATH);

const resilient = (g: Generator) =>
  withCircuitBreaker(withRetries(g, { retries: 2 }), { failures: 5, cooldownMs: 30_000 });
const adapters = {
  automatic1111: createAutomatic1111Generator({ url: a1111.url, maxPixels }),
  openai: createOpenAIImagesGenerator({ url: openai.url, model: "m", maxPixels }),
  comfyui: createComfyUIGenerator({ url: comfy.url, workflow, maxPixels, pollIntervalMs }),
};

const postJson = async (url: string, body: unknown) =>
  (await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }).then((r) => r.json())) as Record<string, unknown>;

/** The same exchanges as the adapters, with nothing but fetch and JSON.parse. */
const direct: Record<keyof typeof adapters, () => Promise<unknown>> = {
  automatic1111: () =>
    postJson(`${a1111.url}/sdapi/v1/txt2img`, {
      prompt: input.prompt,
      seed: input.seed,
      width: size,
      height: size,
      batch_size: 1,
    }),
  openai: () =>
    postJson(`${openai.url}/v1/images/generations`, {
      model: "m",
      prompt: input.prompt,
      n: 1,
      size: `${size}x${size}`,
      response_format: "b64_json",
    }),
  comfyui: async () => {
    const { prompt_id: id } = (await postJson(`${comfy.url}/prompt`, {
      prompt: fillComfyWorkflow(workflow, input, "m"),
    })) as { prompt_id: string };
    for (;;) {
      const history = (await fetch(`${comfy.url}/history/${id}`).then((r) => r.json())) as Record<
        string,
        { outputs: Record<string, { images: Array<Record<string, string>> }> }
      >;
      const entry = history[id];
      if (entry) {
        const ref = entry.outputs["9"]!.images[0]!;
        return fetch(`${comfy.url}/view?${new URLSearchParams(ref)}`).then((r) => r.arrayBuffer());
      }
      await new Promise((r) => setTimeout(r, pollIntervalMs));
    }
  },
};

const bench = new Bench({ time: Number(values.time), warmup: true, warmupTime: 500 });
for (const name of Object.keys(adapters) as Array<keyof typeof adapters>) {
  const adapter = adapters[name];
  const wrapped = resilient(adapter);
  bench
    .add(`${name}: direct fetch`, direct[name])
    .add(`${name}: adapter`, () => adapter.generate(input, never))
    .add(`${name}: adapter + retries + breaker`, () => wrapped.generate(input, never));
}
await bench.run();

const ms = (v: number | undefined) => (v === undefined ? "-" : `${v.toFixed(2)} ms`);
console.log(`node ${process.version}, upstream latency ${latencyMs} ms, ${size}x${size} PNG, n=1`);
console.log(
  "task                                          samples        p50        p99   p50 − direct",
);
let directP50 = 0;
for (const task of bench.tasks) {
  const r = task.result;
  if (r === undefined || !("latency" in r)) continue;
  if (task.name.endsWith("direct fetch")) directP50 = r.latency.p50 ?? 0;
  const overhead = task.name.endsWith("direct fetch") ? "-" : ms((r.latency.p50 ?? 0) - directP50);
  console.log(
    `${task.name.padEnd(45)} ${String(r.latency.samplesCount).padStart(7)} ${ms(r.latency.p50).padStart(10)} ${ms(r.latency.p99).padStart(10)}   ${overhead}`,
  );
}
await Promise.all([a1111.close(), openai.close(), comfy.close()]);

// Local backends: the embedded model against the placeholder, 512×512, n=1.
const modelDir = new URL("../models/embedded-diffusion", import.meta.url).pathname;
if (existsSync(modelDir)) {
  const local = {
    prompt: "a red circle on a blue background",
    width: 512,
    height: 512,
    n: 1,
    seed: 3,
  };
  const placeholder = createPlaceholderGenerator();
  const embedded = await createEmbeddedGenerator({ dir: modelDir });
  const fewer = await createEmbeddedGenerator({ dir: modelDir, steps: 8 });
  const localBench = new Bench({ time: Number(values.time), warmup: true, warmupTime: 500 });
  localBench
    .add("placeholder 512x512 (baseline)", () => placeholder.generate(local, never))
    .add("embedded 512x512, 20 steps", () => embedded.generate(local, never))
    .add("embedded 512x512, 8 steps", () => fewer.generate(local, never));
  await localBench.run();
  console.log("\nlocal backends, 512x512 PNG, n=1");
  console.log(
    "task                                          samples        p50        p99   ratio",
  );
  let baseline = 0;
  for (const task of localBench.tasks) {
    const r = task.result;
    if (r === undefined || !("latency" in r)) continue;
    const p50 = r.latency.p50 ?? 0;
    if (task.name.includes("baseline")) baseline = p50;
    console.log(
      `${task.name.padEnd(45)} ${String(r.latency.samplesCount).padStart(7)} ${ms(p50).padStart(10)} ${ms(r.latency.p99).padStart(10)}   ${baseline ? `${(p50 / baseline).toFixed(2)}x` : "-"}`,
    );
  }
  await Promise.all([embedded.close(), fewer.close()]);
}
