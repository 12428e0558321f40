/**
 * Soak run (issue 9, item 8): one gateway under steady load against a fake upstream, with the
 * gateway's resident memory read from /proc before and after. Errors must stay at 0 and the
 * memory growth under 10%.
 *
 *   npx tsx bench/load-soak.ts [--duration 60] [--connections 64] [--latency 50] [--timeout 60]
 *                              [--postgres]
 *
 * `--postgres` runs the gateway on a throwaway PostgreSQL cluster instead of the embedded PGlite.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { createPgCluster, type PgCluster } from "./support/pg-cluster.js";
import { hallmarkCli, startFakeUpstream, startGateway } from "./support/processes.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "60" },
    connections: { type: "string", default: "64" },
    latency: { type: "string", default: "50" },
    // Seconds before autocannon counts a request as timed out. Every output is screened, marked
    // and signed on the gateway's CPUs, so at 64 connections a request waits for the ones ahead.
    timeout: { type: "string", default: "60" },
    postgres: { type: "boolean", default: false },
  },
});

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

let cluster: PgCluster | null = null;
const upstream = await startFakeUpstream(Number(values.latency));
const env: Record<string, string> = {
  HALLMARK_BACKEND: "automatic1111",
  HALLMARK_A1111_URL: upstream.url,
  HALLMARK_BACKEND_CONCURRENCY: values.connections!,
  HALLMARK_BACKEND_QUEUE: String(Number(values.connections) * 2),
  HALLMARK_RATE_LIMIT_RPS: "0",
  HALLMARK_LOG_LEVEL: "warn",
};
let key = "";
if (values.postgres) {
  cluster = createPgCluster(25000 + Math.floor(Math.random() * 5000));
  env.DATABASE_URL = cluster.url;
  env.HALLMARK_BOOTSTRAP = "false";
  const cli = hallmarkCli(env);
  cli("migrate");
  cli("tenant", "create", "soak");
  key = cli("key", "create", "--tenant", "soak").trim().split("\n").at(-1)!;
}
const gateway = await startGateway({ ...env, HALLMARK_LOG_LEVEL: "info" });
key ||= gateway.key;
try {
  const request = {
    url: `${gateway.url}/v1/images/generations`,
    method: "POST" as const,
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ prompt: "a lighthouse at dusk", size: "512x512" }),
    connections: Number(values.connections),
    timeout: Number(values.timeout),
  };
  // Warm-up: JIT, model sessions, worker threads, the first database pages.
  await autocannon({ ...request, duration: 5 });
  const before = rssMiB(gateway.child.pid!);
  const r = await autocannon({ ...request, duration: Number(values.duration) });
  const after = rssMiB(gateway.child.pid!);
  console.log(
    `\nSoak: POST /v1/images/generations, ${values.connections} connections, ${values.duration} s, upstream ${values.latency} ms, ${values.postgres ? "PostgreSQL" : "PGlite"}\n`,
  );
  console.table({
    requests: r.requests.total,
    "req/s (mean)": Number(r.requests.average.toFixed(1)),
    "p50 ms": r.latency.p50,
    "p99 ms": r.latency.p99,
    "errors + non-2xx": r.errors + r.non2xx + r.timeouts,
    "answers by status": Object.entries(r.statusCodeStats ?? {})
      .map(([code, v]) => `${code}: ${(v as { count: number }).count}`)
      .join(", "),
    timeouts: r.timeouts,
    "RSS before (MiB)": Number(before.toFixed(1)),
    "RSS after (MiB)": Number(after.toFixed(1)),
    "RSS growth": `${(((after - before) / before) * 100).toFixed(1)}%`,
  });
} finally {
  gateway.child.kill("SIGTERM");
  upstream.child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  cluster?.destroy();
}
