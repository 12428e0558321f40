/**
 * What delivery costs (docs/async.md), on an in-memory PGlite with the placeholder backend,
 * measured in one run beside its baseline (a plain synchronous generation):
 * - a first request with an Idempotency-Key (claim, generate, store the sealed images, complete);
 * - a replay of it (claim fails, read the stored response, unseal the images);
 * - an asynchronous submission (sealed request, job row, pg-boss send) up to its 202.
 *
 *   npx tsx bench/delivery.bench.ts [--iterations 30]
 */
import { parseArgs } from "node:util";
import { testDatabases } from "../src/db/test-databases.js";
import { startTestGateway } from "../src/runtime/test-gateway.js";

const { values } = parseArgs({ options: { iterations: { type: "string", default: "30" } } });
const iterations = Number(values.iterations);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const gw = await startTestGateway(testDatabases()[0]!, { HALLMARK_WORKER_IN_SERVE: "false" });
const body = (i: number) => ({ prompt: `a lighthouse at dusk ${i}`, size: "256x256", seed: i });
async function time(fn: () => Promise<Response>, expect: number): Promise<number> {
  const started = performance.now();
  const res = await fn();
  await res.arrayBuffer();
  if (res.status !== expect) throw new Error(`expected ${expect}, got ${res.status}`);
  return performance.now() - started;
}

const rows: Record<string, number[]> = {
  "sync, no key (baseline)": [],
  "sync, first with Idempotency-Key": [],
  "replay of that key": [],
  "async submission (202)": [],
};
const post = (json: unknown, headers: Record<string, string> = {}) =>
  gw.request("/v1/images/generations", { json, headers });
for (let i = 0; i < 3; i++) await post(body(-1 - i)); // warm-up
for (let i = 0; i < iterations; i++) {
  rows["sync, no key (baseline)"]!.push(await time(() => post(body(i)), 200));
  const key = { "Idempotency-Key": `bench-${i}` };
  rows["sync, first with Idempotency-Key"]!.push(await time(() => post(body(1000 + i), key), 200));
  rows["replay of that key"]!.push(await time(() => post(body(1000 + i), key), 200));
  rows["async submission (202)"]!.push(
    await time(() => post({ ...body(2000 + i), hallmark_async: true }), 202),
  );
}
const base = median(rows["sync, no key (baseline)"]!);
console.log(
  `\nPOST /v1/images/generations, 256x256, placeholder backend, PGlite, ${iterations} each`,
);
console.table(
  Object.fromEntries(
    Object.entries(rows).map(([name, xs]) => [
      name,
      {
        "p50 ms": Math.round(median(xs) * 10) / 10,
        "× baseline": Math.round((median(xs) / base) * 100) / 100,
      },
    ]),
  ),
);
await gw.close();
process.exit(0);
