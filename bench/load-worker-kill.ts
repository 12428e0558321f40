/**
 * Worker-kill run (issue 9, item 8): asynchronous generations are queued on a throwaway
 * PostgreSQL cluster, the `hallmark worker` process holding them is killed with SIGKILL in the
 * middle of its jobs, and a second worker is started. Every job must complete exactly once: one
 * generation row, one audit log entry, `hallmark audit verify` passing.
 *
 *   npx tsx bench/load-worker-kill.ts [--jobs 8] [--latency 3000] [--kill-after 1.5] [--expire 5]
 *
 * `--latency` is the fake upstream's generation time (the kill lands while jobs are inside it);
 * `--expire` is HALLMARK_JOB_EXPIRE_SECONDS, after which pg-boss hands a dead worker's job on.
 */
import type { ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { createPgCluster } from "./support/pg-cluster.js";
import { hallmarkCli, startChild, startFakeUpstream } from "./support/processes.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "8" },
    latency: { type: "string", default: "3000" },
    "kill-after": { type: "string", default: "1.5" },
    expire: { type: "string", default: "5" },
  },
});
const jobs = Number(values.jobs);
const cluster = createPgCluster(25000 + Math.floor(Math.random() * 5000));
const dataDir = mkdtempSync(path.join(tmpdir(), "hm-worker-kill-"));
const env = {
  DATABASE_URL: cluster.url,
  HALLMARK_DATA_DIR: dataDir,
  HALLMARK_LOG_LEVEL: "info",
  HALLMARK_BOOTSTRAP: "false",
  // The gateway and the workers write one log: one origin.
  HALLMARK_LOG_ORIGIN: "bench.hallmark.test/audit",
  HALLMARK_RATE_LIMIT_RPS: "0",
  HALLMARK_JOB_EXPIRE_SECONDS: values.expire!,
  HALLMARK_WORKER_POLL_SECONDS: "0.5",
  HALLMARK_WORKER_CONCURRENCY: String(jobs),
  HALLMARK_BACKEND_RETRIES: "0",
  HALLMARK_BACKEND_CONCURRENCY: String(jobs * 2),
};
const cli = hallmarkCli(env);

const children: ChildProcess[] = [];
function keepLog(child: ChildProcess, name: string) {
  const log = createWriteStream(path.join(dataDir, `${name}.log`));
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
}

try {
  cli("migrate");
  cli("tenant", "create", "load");
  const key = cli("key", "create", "--tenant", "load").trim().split("\n").at(-1)!;
  const upstream = await startFakeUpstream(Number(values.latency));
  children.push(upstream.child);
  const withUpstream = {
    ...env,
    HALLMARK_BACKEND: "automatic1111",
    HALLMARK_A1111_URL: upstream.url,
  };
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const gateway = await startChild(
    ["bin/hallmark", "serve"],
    { ...withUpstream, HALLMARK_PORT: port, HALLMARK_WORKER_IN_SERVE: "false" },
    /"listening"/,
  );
  children.push(gateway.child);
  keepLog(gateway.child, "gateway");
  const url = `http://127.0.0.1:${port}`;
  const first = await startChild(["bin/hallmark", "worker"], withUpstream, /worker ready/);
  children.push(first.child);
  keepLog(first.child, "worker-1");

  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < jobs; i++) {
    const res = await fetch(`${url}/v1/images/generations`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({
        prompt: `a lighthouse at dusk, ${i}`,
        size: "256x256",
        hallmark_async: true,
      }),
    });
    const body = (await res.json()) as { id?: string };
    if (res.status !== 202 || !body.id) throw new Error(`submit answered ${res.status}`);
    ids.push(body.id);
  }
  await new Promise((r) => setTimeout(r, Number(values["kill-after"]) * 1000));
  const status = async (id: string) => {
    const res = await fetch(`${url}/v1/generations/${id}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    return ((await res.json()) as { status?: string }).status ?? `http ${res.status}`;
  };
  const atKill = await Promise.all(ids.map(status));
  first.child.kill("SIGKILL");
  const killedAt = performance.now() - t0;
  const second = await startChild(["bin/hallmark", "worker"], withUpstream, /worker ready/);
  children.push(second.child);
  keepLog(second.child, "worker-2");

  const final = new Map<string, string>();
  const deadline = Date.now() + 180_000;
  while (final.size < ids.length && Date.now() < deadline) {
    for (const id of ids) {
      if (final.has(id)) continue;
      const s = await status(id);
      if (s !== "queued" && s !== "running") final.set(id, s);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const doneAt = performance.now() - t0;

  const sql = postgres(cluster.url, { max: 1, onnotice: () => {} });
  const rows = await sql<{ id: string; generations: string; entries: string }[]>`
    select x.id,
      (select count(*) from generations g where g.id = x.id) as generations,
      (select count(*) from audit_log_entries e where e.generation_id = x.id) as entries
    from unnest(${ids}::uuid[]) as x(id)`;
  await sql.end();
  let verify = "passed";
  try {
    cli("audit", "verify");
  } catch (error) {
    verify = `FAILED: ${String((error as { stdout?: string }).stdout ?? error).slice(0, 300)}`;
  }
  const count = (xs: string[], v: string) => xs.filter((x) => x === v).length;
  console.log(
    `\n${jobs} async jobs, upstream ${values.latency} ms, worker 1 killed (SIGKILL) at ${(killedAt / 1000).toFixed(1)} s, job expiry ${values.expire} s\n`,
  );
  console.table({
    "jobs submitted": jobs,
    "running when worker 1 was killed": count(atKill, "running"),
    "completed in the end": count([...final.values()], "completed"),
    "other final states": ids.length - count([...final.values()], "completed"),
    "jobs with exactly one generation row": rows.filter((r) => Number(r.generations) === 1).length,
    "jobs with exactly one audit log entry": rows.filter((r) => Number(r.entries) === 1).length,
    "hallmark audit verify": verify,
    "seconds until all settled": (doneAt / 1000).toFixed(1),
  });
  console.log(`logs: ${dataDir}/{gateway,worker-1,worker-2}.log`);
  const ok =
    count([...final.values()], "completed") === jobs &&
    rows.every((r) => Number(r.generations) === 1 && Number(r.entries) === 1) &&
    verify === "passed";
  process.exitCode = ok ? 0 : 1;
} finally {
  for (const c of children) c.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  cluster.destroy();
}
