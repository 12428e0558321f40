/**
 * Sustained audit-write rate (issue 6, item 7): generations recorded per second, each a log
 * entry plus its generation row and one image row, by many concurrent writers, with a signed
 * checkpoint every second, on PGlite (a data folder, as the gateway runs it) and on PostgreSQL
 * (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres when it answers; a
 * fresh database is created and dropped). Two ways to write, measured in the same run:
 * one transaction per record (`recordGeneration`) and the group-commit recorder the pipeline
 * uses (`createRecorder`). Afterwards the whole log is verified.
 *
 *   npx tsx bench/audit.bench.ts [--seconds 5] [--writers 64]
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import {
  createRecorder,
  type GenerationRecord,
  type ImageRecord,
  recordGeneration,
} from "../src/audit/index.js";
import { createCheckpointer, verifyDatabaseLog } from "../src/audit/log/index.js";
import { createNoteSigner, createNoteVerifier, generateNoteKey } from "../src/audit/tlog/index.js";
import { type Database, openDatabase } from "../src/db/index.js";
import { createTenant } from "../src/tenants/index.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    writers: { type: "string", default: "64" },
  },
});
const seconds = Number(values.seconds);
const writers = Number(values.writers);
const ORIGIN = "bench.hallmark.test/audit";

function image(): ImageRecord {
  return {
    index: 0,
    sha256: randomBytes(32).toString("hex"),
    mediaType: "image/png",
    width: 512,
    height: 512,
    bytes: 400_000,
    seed: 1,
    marks: [{ kind: "watermark", applied: true }],
    watermarkMarkId: randomBytes(6).toString("hex"),
    pdqHash: randomBytes(32).toString("hex"),
    pdqQuality: 100,
  };
}

async function run(
  database: Database,
  mode: "one transaction per record" | "group commit (recorder)",
): Promise<{ rate: number; records: number; verified: boolean }> {
  const tenantId = (await createTenant(database.db, `bench-${randomUUID()}`)).id;
  const key = generateNoteKey("bench.hallmark.test");
  const checkpointer = createCheckpointer({
    db: database.db,
    signer: createNoteSigner(key.skey),
    verifier: createNoteVerifier(key.vkey),
    origin: ORIGIN,
    everyEntries: 1_000_000,
    everySeconds: 1,
    onError: () => {},
  });
  checkpointer.start();
  const recorder = createRecorder(database.db);
  const record = (): GenerationRecord => ({
    id: randomUUID(),
    tenantId,
    apiKeyId: null,
    endUser: "user-1",
    kind: "generate",
    status: "completed",
    retention: "sha256",
    prompt: "a lighthouse at dusk, oil painting",
    params: { n: 1, size: "512x512", seed: 1 },
    model: "bench-model",
    backend: "bench",
    action: "allow",
    decision: { action: "allow", fired: [], policy: { id: "default", hash: "x" } },
    stages: [{ name: "generate", status: "applied", ms: 50 }],
    images: [image()],
  });
  let count = 0;
  const until = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < until) {
        if (mode === "group commit (recorder)") {
          await recorder.record(record(), async () => ({ images: [image()] }));
        } else {
          await recordGeneration(database.db, record());
        }
        count++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await checkpointer.stop();
  const report = await verifyDatabaseLog(database.db, {
    verifiers: [createNoteVerifier(key.vkey)],
    origin: ORIGIN,
  });
  return { rate: count / elapsed, records: count, verified: report.ok };
}

async function postgresUrl(): Promise<{ url: string; drop: () => Promise<void> } | null> {
  const admin = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const sql = postgres(admin, { max: 1, onnotice: () => {}, connect_timeout: 3 });
  try {
    const name = `hallmark_bench_${randomBytes(4).toString("hex")}`;
    await sql.unsafe(`create database ${name}`);
    const url = new URL(admin);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      drop: async () => {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
        await sql.end();
      },
    };
  } catch {
    await sql.end();
    return null;
  }
}

const rows: Array<Record<string, string | number>> = [];
const modes = ["one transaction per record", "group commit (recorder)"] as const;

const dir = mkdtempSync(path.join(tmpdir(), "hm-audit-bench-"));
try {
  for (const mode of modes) {
    const database = await openDatabase({ dataDir: path.join(dir, mode.replace(/\W+/g, "-")) });
    await database.migrate();
    const r = await run(database, mode);
    await database.close();
    rows.push({ database: "PGlite (data folder)", mode, ...summary(r) });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const pg = await postgresUrl();
if (pg) {
  try {
    for (const mode of modes) {
      const database = await openDatabase({ url: pg.url, maxConnections: 20 });
      await database.migrate();
      const r = await run(database, mode);
      await database.close();
      rows.push({ database: "PostgreSQL", mode, ...summary(r) });
    }
  } finally {
    await pg.drop();
  }
} else {
  console.log("PostgreSQL not reachable (BENCH_DATABASE_URL): its rows are left out.");
}

function summary(r: { rate: number; records: number; verified: boolean }) {
  return {
    "records/s": Math.round(r.rate),
    records: r.records,
    "log verified": r.verified ? "yes" : "NO",
  };
}

// Ratio of each group-commit row to the one-transaction row of the same database.
for (const row of rows) {
  const base = rows.find(
    (b) => b.database === row.database && b.mode === "one transaction per record",
  );
  row["× one-tx"] = base ? (Number(row["records/s"]) / Number(base["records/s"])).toFixed(2) : "";
}
console.log(
  `\nAudit writes: ${writers} concurrent writers, ${seconds} s each, a signed checkpoint every second\n`,
);
console.table(rows);
