/**
 * Crash run (issue 6, item 7): the gateway is killed with SIGKILL in the middle of a load run and
 * started again on the same data. Afterwards every request that got a 200 must have its
 * generation row and log entry, and `hallmark audit verify` must pass.
 *
 *   npx tsx bench/load-crash.ts [--duration 20] [--kill-at 8] [--connections 8] [--postgres]
 *
 * Default: the embedded PGlite in a data folder (what `npm start` runs); `--postgres`: a
 * throwaway PostgreSQL cluster.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { eq, inArray, sql } from "drizzle-orm";
import { openDatabase } from "../src/db/index.js";
import { generations } from "../src/db/schema.js";
import { createPgCluster, type PgCluster } from "./support/pg-cluster.js";
import { hallmarkCli, startChild, startFakeUpstream } from "./support/processes.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "20" },
    "kill-at": { type: "string", default: "8" },
    connections: { type: "string", default: "8" },
    postgres: { type: "boolean", default: false },
  },
});
const durationMs = Number(values.duration) * 1000;
const killAt = Number(values["kill-at"]) * 1000;
const dataDir = mkdtempSync(path.join(tmpdir(), "hm-crash-"));
let cluster: PgCluster | null = null;
const env: Record<string, string> = {
  HALLMARK_DATA_DIR: dataDir,
  HALLMARK_LOG_LEVEL: "warn",
  HALLMARK_RATE_LIMIT_RPS: "0",
  HALLMARK_LOG_ORIGIN: "crash.hallmark.test/audit",
};
if (values.postgres) {
  cluster = createPgCluster(25000 + Math.floor(Math.random() * 5000));
  env.DATABASE_URL = cluster.url;
}
const cli = hallmarkCli(env);

const upstream = await startFakeUpstream(50);
const port = String(20000 + Math.floor(Math.random() * 20000));
const url = `http://127.0.0.1:${port}`;
const start = async (): Promise<ChildProcess> =>
  (
    await startChild(
      ["bin/hallmark", "serve"],
      {
        ...env,
        HALLMARK_LOG_LEVEL: "info",
        HALLMARK_PORT: port,
        HALLMARK_BACKEND: "automatic1111",
        HALLMARK_A1111_URL: upstream.url,
      },
      /"listening"/,
    )
  ).child;

let gateway: ChildProcess | null = null;
try {
  cli("migrate");
  cli("tenant", "create", "crash");
  const key = cli("key", "create", "--tenant", "crash").trim().split("\n").at(-1)!;
  gateway = await start();
  const ok: string[] = [];
  const statuses = new Map<string, number>();
  const t0 = performance.now();
  let restarted: Promise<void> | null = null;
  const worker = async () => {
    while (performance.now() - t0 < durationMs) {
      if (restarted) await restarted;
      let status = "connection error";
      try {
        const res = await fetch(`${url}/v1/images/generations`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: JSON.stringify({ prompt: "a lighthouse at dusk", size: "512x512" }),
          signal: AbortSignal.timeout(60_000),
        });
        status = String(res.status);
        const body = (await res.json()) as { hallmark?: { generation_id?: string } };
        if (res.status === 200 && body.hallmark?.generation_id)
          ok.push(body.hallmark.generation_id);
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  const killer = (async () => {
    await new Promise((r) => setTimeout(r, killAt));
    gateway!.kill("SIGKILL");
    restarted = (async () => {
      await new Promise((r) => gateway!.once("exit", r));
      gateway = await start();
    })();
    await restarted;
    restarted = null;
  })();
  await Promise.all([...Array.from({ length: Number(values.connections) }, worker), killer]);
  gateway.kill("SIGTERM");
  await new Promise((r) => gateway!.once("exit", r));
  gateway = null;

  const database = values.postgres
    ? await openDatabase({ url: cluster!.url })
    : await openDatabase({ dataDir: path.join(dataDir, "pglite") });
  const found = ok.length
    ? await database.db
        .select({ id: generations.id, logIndex: generations.logIndex })
        .from(generations)
        .where(inArray(generations.id, ok))
    : [];
  const completed = await database.db
    .select({ n: sql<number>`count(*)::int` })
    .from(generations)
    .where(eq(generations.status, "completed"));
  await database.close();
  let verify = "passed";
  try {
    cli("audit", "verify");
  } catch (error) {
    verify = `FAILED: ${String((error as { stdout?: string }).stdout ?? error).slice(0, 300)}`;
  }
  console.log(
    `\nCrash run: SIGKILL at ${killAt / 1000} s of ${values.duration} s, ${values.connections} connections, ${values.postgres ? "PostgreSQL" : "PGlite (data folder)"}\n`,
  );
  console.table(Object.fromEntries([...statuses].map(([k, v]) => [`responses ${k}`, v])));
  console.table({
    "200s": ok.length,
    "200s with their generation row and log entry": found.filter((f) => f.logIndex !== null).length,
    "completed generations in the database": completed[0]!.n,
    "hallmark audit verify": verify,
  });
} finally {
  gateway?.kill("SIGKILL");
  upstream.child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  cluster?.destroy();
}
