/**
 * The gateway's own cost: POST /v1/images/generations through Hallmark to a fake AUTOMATIC1111
 * with a fixed latency, beside the same load sent straight to the fake upstream, in one run.
 * Gateway, upstream and load generator are separate processes. Every path runs at the chosen
 * concurrency and at 1 connection (no queueing: the work the gateway adds to one request). The gateway runs twice: on the
 * embedded database (PGlite, in the gateway's process) and on PostgreSQL (a throwaway cluster of
 * the machine's server binaries; the row is left out where there are none). Each row also gives
 * the serving process's CPU time per request (from /proc): steadier than wall-clock figures on a
 * shared machine, and what bounds the throughput once the cores are full.
 *
 *   npx tsx bench/gateway.bench.ts [--duration 10] [--connections 16] [--latency 50]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { createPgCluster } from "./support/pg-cluster.js";
import { hallmarkCli, startFakeUpstream, startGateway } from "./support/processes.js";

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
  connections: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time (user + system, every thread) of the serving process per completed request. */
  cpuMs: number | null;
}

/**
 * A process's CPU time so far (ms), from /proc (Linux; null elsewhere). Per request it is nearly
 * independent of the machine's other load, unlike wall-clock figures, and it is what bounds the
 * throughput once the cores are full.
 */
function cpuMsOf(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
  } catch {
    return null;
  }
}

async function load(
  name: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
  conns = connections,
  pid?: number,
): Promise<Row> {
  // Warm-up (JIT, first database writes), not measured.
  await autocannon({
    url,
    method: "POST",
    body: JSON.stringify(body),
    headers,
    connections: conns,
    duration: 2,
  });
  const cpuBefore = cpuMsOf(pid);
  const r = await autocannon({
    url,
    method: "POST",
    body: JSON.stringify(body),
    headers,
    connections: conns,
    duration,
  });
  const cpuAfter = cpuMsOf(pid);
  return {
    name,
    connections: conns,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.non2xx,
    cpuMs:
      cpuBefore === null || cpuAfter === null || r.requests.total === 0
        ? null
        : (cpuAfter - cpuBefore) / r.requests.total,
  };
}

/** Server-Timing of 30 sequential requests (no queueing): per-stage medians, and wall time minus
 * the sum of the stages (the gateway's own plumbing: HTTP, auth, rate limit, validation, JSON and
 * base64, which no stage accounts for). */
async function stages(url: string, key: string) {
  const perStage = new Map<string, number[]>();
  const outside: number[] = [];
  for (let i = 0; i < 30; i++) {
    const started = performance.now();
    const res = await fetch(`${url}/v1/images/generations`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
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
  return {
    stages: new Map([...perStage].map(([k, v]) => [k, median(v)])),
    outside: median(outside),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

const upstream = await startFakeUpstream(Number(values.latency));
const common = {
  HALLMARK_BACKEND: "automatic1111",
  HALLMARK_A1111_URL: upstream.url,
  HALLMARK_BACKEND_CONCURRENCY: String(connections * 2),
  // The bench measures the pipeline, not the tenant rate limit (on by default at 100/s).
  HALLMARK_RATE_LIMIT_RPS: "0",
};
const json = { "content-type": "application/json" };
const body = { prompt: "a lighthouse at dusk", size: "512x512", seed: 1 };
const rows: Row[] = [];
const breakdown: Array<{ name: string } & Awaited<ReturnType<typeof stages>>> = [];

/** One gateway's rows (at the chosen concurrency and at 1) and its per-stage breakdown. */
async function measureGateway(database: string, url: string, key: string, pid?: number) {
  const auth = { ...json, authorization: `Bearer ${key}` };
  for (const conns of [connections, 1]) {
    rows.push(
      await load(
        `through Hallmark (${database})`,
        `${url}/v1/images/generations`,
        body,
        auth,
        conns,
        pid,
      ),
    );
  }
  breakdown.push({ name: database, ...(await stages(url, key)) });
}
try {
  // Each path at the chosen concurrency and at 1 connection: the second has no queueing, so
  // its difference is the work the gateway adds to one request; the first adds the waiting for
  // the machine's cores.
  for (const conns of [connections, 1]) {
    rows.push(
      await load(
        "fake upstream, direct",
        `${upstream.url}/sdapi/v1/txt2img`,
        { prompt: "a lighthouse at dusk", width: 512, height: 512, batch_size: 1, seed: 1 },
        json,
        conns,
        upstream.child.pid,
      ),
    );
  }
  const embedded = await startGateway(common);
  try {
    await measureGateway("PGlite", embedded.url, embedded.key, embedded.child.pid);
  } finally {
    embedded.child.kill("SIGTERM");
  }
  // Production's database: a throwaway PostgreSQL cluster of the machine's server binaries.
  let cluster: ReturnType<typeof createPgCluster> | null = null;
  try {
    cluster = createPgCluster(25000 + Math.floor(Math.random() * 5000));
  } catch (e) {
    console.log(`(no PostgreSQL row: ${(e as Error).message.split("\n")[0]})`);
  }
  if (cluster) {
    const env = { ...common, DATABASE_URL: cluster.url, HALLMARK_BOOTSTRAP: "false" };
    try {
      const cli = hallmarkCli(env);
      cli("migrate");
      cli("tenant", "create", "bench");
      const key = cli("key", "create", "--tenant", "bench").trim().split("\n").at(-1)!;
      const pg = await startGateway(env);
      try {
        await measureGateway("PostgreSQL", pg.url, key, pg.child.pid);
      } finally {
        pg.child.kill("SIGTERM");
      }
    } finally {
      cluster.destroy();
    }
  }
} finally {
  upstream.child.kill("SIGTERM");
}

console.log(
  `\nPOST /v1/images/generations, ${connections} connections, ${duration} s, upstream latency ${values.latency} ms\n`,
);
console.table(
  rows.map((r) => ({
    path: r.name,
    connections: r.connections,
    "req/s": r.rps.toFixed(1),
    "p50 ms": r.p50,
    "p99 ms": r.p99,
    "errors/non-2xx": r.errors,
    // The serving process only (the PostgreSQL server's own processes are not counted).
    "CPU ms/req": r.cpuMs === null ? "n/a" : r.cpuMs.toFixed(1),
  })),
);
console.log("\nServer-Timing per stage, 30 sequential requests (median ms):");
const names = [...new Set(breakdown.flatMap((b) => [...b.stages.keys()]))];
console.table(
  Object.fromEntries(
    [...names, "outside every stage"].map((n) => [
      n,
      Object.fromEntries(
        breakdown.map((b) => [
          b.name,
          Number((n === "outside every stage" ? b.outside : (b.stages.get(n) ?? 0)).toFixed(2)),
        ]),
      ),
    ]),
  ),
);
for (const r of rows.filter((row) => !row.name.startsWith("fake upstream"))) {
  const direct = rows.find(
    (d) => d.name.startsWith("fake upstream") && d.connections === r.connections,
  )!;
  console.log(
    `${r.name}, ${r.connections} connection(s): gateway's own cost p50 +${(r.p50 - direct.p50).toFixed(1)} ms, p99 +${(r.p99 - direct.p99).toFixed(1)} ms, throughput ×${(r.rps / direct.rps).toFixed(2)}`,
  );
}
