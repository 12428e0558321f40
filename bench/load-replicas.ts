/**
 * Several gateway replicas on one PostgreSQL under load, optionally with the database stopped in
 * the middle of the run and started again (issue 9, items 7 and 8). Every 200 is checked against
 * the database afterwards: it has its generation row and log entry, no generation is duplicated,
 * the log's indices have no gap, and `hallmark audit verify` passes.
 *
 *   npx tsx bench/load-replicas.ts [--replicas 3] [--duration 30] [--connections 16]
 *                                  [--latency 50] [--fault-at 10 --fault-for 8]
 *
 * The PostgreSQL is a throwaway cluster of its own (bench/support/pg-cluster.ts), so stopping it
 * disturbs no other database on the machine.
 */
import { createWriteStream, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { createPgCluster } from "./support/pg-cluster.js";
import { hallmarkCli, startChild, startFakeUpstream } from "./support/processes.js";

const { values } = parseArgs({
  options: {
    replicas: { type: "string", default: "3" },
    duration: { type: "string", default: "30" },
    connections: { type: "string", default: "16" },
    latency: { type: "string", default: "50" },
    "fault-at": { type: "string" },
    "fault-for": { type: "string", default: "8" },
  },
});
const replicas = Number(values.replicas);
const durationMs = Number(values.duration) * 1000;
const connections = Number(values.connections);
const faultAt = values["fault-at"] === undefined ? null : Number(values["fault-at"]) * 1000;
const faultFor = Number(values["fault-for"]) * 1000;

const cluster = createPgCluster(25000 + Math.floor(Math.random() * 5000));
const dataDir = mkdtempSync(path.join(tmpdir(), "hm-replicas-"));
const env = {
  DATABASE_URL: cluster.url,
  HALLMARK_DATA_DIR: dataDir,
  HALLMARK_LOG_LEVEL: "warn",
  HALLMARK_RATE_LIMIT_RPS: "0",
  HALLMARK_BOOTSTRAP: "false",
  // Replicas are one log: one origin (the default derives from each one's host and port).
  HALLMARK_LOG_ORIGIN: "bench.hallmark.test/audit",
};
const cli = hallmarkCli(env);

interface Sample {
  start: number;
  end: number;
  status: number;
  generationId: string | null;
  replica: number;
}

const children: Array<{ kill(signal?: NodeJS.Signals): boolean }> = [];
const exits: string[] = [];
let stopping = false;
try {
  cli("migrate");
  cli("tenant", "create", "load");
  const key = cli("key", "create", "--tenant", "load").trim().split("\n").at(-1)!;
  const upstream = await startFakeUpstream(Number(values.latency));
  children.push(upstream.child);
  const urls: string[] = [];
  // One after another: the first creates the shared keys in the data folder, the rest read them.
  for (let i = 0; i < replicas; i++) {
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const { child } = await startChild(
      ["bin/hallmark", "serve"],
      {
        ...env,
        HALLMARK_LOG_LEVEL: "info",
        HALLMARK_PORT: port,
        HALLMARK_BACKEND: "automatic1111",
        HALLMARK_A1111_URL: upstream.url,
        HALLMARK_BACKEND_CONCURRENCY: String(connections * 2),
      },
      /"listening"/,
    );
    children.push(child);
    urls.push(`http://127.0.0.1:${port}`);
    // Keep each replica's log: a replica that dies under a fault says why here.
    const log = createWriteStream(path.join(dataDir, `replica-${i}.log`));
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.once("exit", (code, signal) => {
      if (!stopping) exits.push(`replica ${i} exited (${signal ?? code})`);
    });
  }

  const samples: Sample[] = [];
  const t0 = performance.now();
  let counter = 0;
  const worker = async () => {
    while (performance.now() - t0 < durationMs) {
      const replica = counter++ % urls.length;
      const start = performance.now() - t0;
      let status = 0;
      let generationId: string | null = null;
      try {
        const res = await fetch(`${urls[replica]}/v1/images/generations`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: JSON.stringify({ prompt: "a lighthouse at dusk", size: "512x512" }),
          signal: AbortSignal.timeout(60_000),
        });
        status = res.status;
        const body = (await res.json()) as { hallmark?: { generation_id?: string } };
        generationId = body.hallmark?.generation_id ?? null;
      } catch {
        status = 0;
      }
      samples.push({ start, end: performance.now() - t0, status, generationId, replica });
    }
  };
  const fault =
    faultAt === null
      ? Promise.resolve()
      : (async () => {
          await new Promise((r) => setTimeout(r, faultAt));
          cluster.stop();
          await new Promise((r) => setTimeout(r, faultFor));
          cluster.start();
        })();
  await Promise.all([...Array.from({ length: connections }, worker), fault]);

  // Phases by when a request started: before the stop, while down, after the start.
  const phase = (s: Sample) =>
    faultAt === null
      ? "whole run"
      : s.start < faultAt
        ? "before the stop"
        : s.start < faultAt + faultFor
          ? "database down"
          : "after the restart";
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? 0;
  const rows = new Map<string, Sample[]>();
  for (const s of samples) rows.set(phase(s), [...(rows.get(phase(s)) ?? []), s]);
  console.log(
    `\n${replicas} replicas on one PostgreSQL, ${connections} connections, ${values.duration} s, upstream ${values.latency} ms${faultAt === null ? "" : `, database stopped at ${faultAt / 1000} s for ${faultFor / 1000} s`}\n`,
  );
  console.table(
    [...rows].map(([name, list]) => {
      const by = (code: number) => list.filter((s) => s.status === code).length;
      const ok = list.filter((s) => s.status === 200).map((s) => s.end - s.start);
      return {
        phase: name,
        requests: list.length,
        "ok (200)": by(200),
        "unavailable (503)": by(503),
        other: list.length - by(200) - by(503),
        "req/s": (
          list.length /
          ((Math.max(...list.map((s) => s.end)) - Math.min(...list.map((s) => s.start))) / 1000)
        ).toFixed(1),
        "p50 ms (200)": Math.round(median(ok)),
        "p99 ms (200)": Math.round(p99(ok)),
      };
    }),
  );

  // Every 200 against the database.
  const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
  const okIds = samples.filter((s) => s.status === 200).map((s) => s.generationId!);
  const found = await sql<{ id: string; log_index: string | null; images: string }[]>`
    select g.id, g.log_index, (select count(*) from images i where i.generation_id = g.id) as images
    from generations g where g.id = any(${okIds}::uuid[])`;
  const entries = await sql<{ n: string; max: string | null }[]>`
    select count(*) as n, max(index) as max from audit_log_entries`;
  const generations = await sql<{ n: string }[]>`select count(*) as n from generations`;
  await sql.end();
  const withEntry = found.filter((r) => r.log_index !== null && Number(r.images) > 0).length;
  const n = Number(entries[0]!.n);
  let verify = "passed";
  try {
    cli("audit", "verify");
  } catch (error) {
    verify = `FAILED: ${String((error as { stdout?: string }).stdout ?? error).slice(0, 300)}`;
  }
  console.table({
    "responses 200": okIds.length,
    "distinct generation ids among them": new Set(okIds).size,
    "200s with their generation row, images and log entry": withEntry,
    "generation rows (all outcomes)": Number(generations[0]!.n),
    "log entries": n,
    "log indices without gaps": Number(entries[0]!.max ?? -1) + 1 === n ? "yes" : "NO",
    "hallmark audit verify": verify,
    "connection errors (status 0)": samples.filter((s) => s.status === 0).length,
    "5xx other than 503": samples.filter((s) => s.status >= 500 && s.status !== 503).length,
  });
  if (exits.length > 0) console.log(`replicas lost during the run: ${exits.join("; ")}`);
  console.log(`replica logs: ${dataDir}/replica-*.log`);
} finally {
  stopping = true;
  for (const c of children) c.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  cluster.destroy();
}
