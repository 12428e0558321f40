/**
 * The gateway's own cost: POST /v1/images/generations through Hallmark to a fake AUTOMATIC1111
 * with a fixed latency, beside the same load sent straight to the fake upstream, in one run.
 * Gateway, upstream and load generator are separate processes.
 *
 *   npx tsx bench/gateway.bench.ts [--duration 10] [--connections 16] [--latency 50]
 */
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { startFakeUpstream, startGateway } from "./support/processes.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    latency: { type: "string", default: "50" },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(
  name: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Row> {
  // Warm-up (JIT, first database writes), not measured.
  await autocannon({
    url,
    method: "POST",
    body: JSON.stringify(body),
    headers,
    connections,
    duration: 2,
  });
  const r = await autocannon({
    url,
    method: "POST",
    body: JSON.stringify(body),
    headers,
    connections,
    duration,
  });
  return {
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

const upstream = await startFakeUpstream(Number(values.latency));
const gateway = await startGateway({
  HALLMARK_BACKEND: "automatic1111",
  HALLMARK_A1111_URL: upstream.url,
  HALLMARK_BACKEND_CONCURRENCY: String(connections * 2),
  // The bench measures the pipeline, not the tenant rate limit (on by default at 100/s).
  HALLMARK_RATE_LIMIT_RPS: "0",
});
try {
  const json = { "content-type": "application/json" };
  const direct = await load(
    "fake upstream, direct",
    `${upstream.url}/sdapi/v1/txt2img`,
    { prompt: "a lighthouse at dusk", width: 512, height: 512, batch_size: 1, seed: 1 },
    json,
  );
  const through = await load(
    "through Hallmark (PGlite)",
    `${gateway.url}/v1/images/generations`,
    { prompt: "a lighthouse at dusk", size: "512x512", seed: 1 },
    { ...json, authorization: `Bearer ${gateway.key}` },
  );
  console.log(
    `\nPOST /v1/images/generations, ${connections} connections, ${duration} s, upstream latency ${values.latency} ms\n`,
  );
  console.table(
    [direct, through].map((r) => ({
      path: r.name,
      "req/s": r.rps.toFixed(1),
      "p50 ms": r.p50,
      "p99 ms": r.p99,
      "errors/non-2xx": r.errors,
    })),
  );
  // Where the gateway's time goes: Server-Timing of sequential requests (no queueing).
  const perStage = new Map<string, number[]>();
  // Wall time of each request minus the sum of its stages: the gateway's own plumbing (HTTP,
  // auth, rate limit, validation, JSON and base64), which no stage accounts for.
  const outside: number[] = [];
  for (let i = 0; i < 30; i++) {
    const started = performance.now();
    const res = await fetch(`${gateway.url}/v1/images/generations`, {
      method: "POST",
      headers: { ...json, authorization: `Bearer ${gateway.key}` },
      body: JSON.stringify({ prompt: "a lighthouse at dusk", size: "512x512", seed: i }),
    });
    await res.arrayBuffer();
    const wall = performance.now() - started;
    let staged = 0;
    for (const part of (res.headers.get("server-timing") ?? "").split(",")) {
      const m = /^\s*([\w]+);dur=([\d.]+)/.exec(part);
      if (m) {
        perStage.set(m[1]!, [...(perStage.get(m[1]!) ?? []), Number(m[2])]);
        staged += Number(m[2]);
      }
    }
    outside.push(wall - staged);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  console.log("\nServer-Timing per stage, 30 sequential requests (median ms):");
  console.table(Object.fromEntries([...perStage].map(([k, v]) => [k, { "p50 ms": median(v) }])));
  console.log(
    `outside every stage (HTTP, auth, limits, validation, JSON, base64), sequential: p50 ${median(outside).toFixed(1)} ms`,
  );
  console.log(
    `gateway's own cost: p50 +${(through.p50 - direct.p50).toFixed(1)} ms, p99 +${(through.p99 - direct.p99).toFixed(1)} ms, throughput ×${(through.rps / direct.rps).toFixed(2)}`,
  );
} finally {
  gateway.child.kill("SIGTERM");
  upstream.child.kill("SIGTERM");
}
