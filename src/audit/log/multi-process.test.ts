import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { auditLogEntries, auditLogPayloads } from "../../db/schema-audit.js";
import { testDatabases } from "../../db/test-databases.js";
import { appendEntry } from "./append.js";
import { signCheckpointNow } from "./checkpoints.js";
import { ORIGIN, testKey } from "./test-support.js";
import { verifyDatabaseLog } from "./verify-database.js";

const WORKER = fileURLToPath(new URL("./append-worker.ts", import.meta.url));
const PER_PROCESS = 150;

function startWorker(
  url: string,
  label: string,
): { child: ChildProcess; ready: Promise<void>; exit: Promise<number> } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", WORKER, url, String(PER_PROCESS), label],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  let out = "";
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("ready")) resolve();
    });
    child.once("exit", () => reject(new Error(`worker ${label} exited before ready`)));
  });
  const exit = once(child, "exit").then(([code]) => code as number);
  return { child, ready, exit };
}

describe.each(testDatabases())("concurrent transactions in one process on $name", ({ open }) => {
  it("get contiguous indices, and a rolled-back append leaves no gap", async () => {
    const database = await open();
    try {
      const { db } = database;
      const outcomes = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          db.transaction(async (tx) => {
            const { index } = await appendEntry(tx, { kind: "decision", payload: { i } });
            if (i % 5 === 0) throw new Error("caller failed after appending");
            return index;
          }),
        ),
      );
      const committed = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
      expect(committed).toHaveLength(32);
      const rows = await db
        .select({ index: auditLogEntries.index })
        .from(auditLogEntries)
        .orderBy(auditLogEntries.index);
      expect(rows.map((r) => r.index)).toEqual(Array.from({ length: 32 }, (_, i) => i));
      expect([...committed].sort((a, b) => a - b)).toEqual(rows.map((r) => r.index));
    } finally {
      await database.close();
    }
  });
});

// PGlite is one process's embedded database, so this test exists for PostgreSQL only.
const postgres = testDatabases().filter((t) => t.name === "postgres");

describe.each(postgres)(
  "several processes appending to one PostgreSQL ($name only; PGlite is single-process)",
  ({ open }) => {
    it("two processes append concurrently; indices are contiguous and the tree verifies", async () => {
      const database = await open();
      try {
        const url = (database as { url?: string }).url!;
        const workers = [startWorker(url, "A"), startWorker(url, "B")];
        await Promise.all(workers.map((w) => w.ready));
        for (const w of workers) w.child.stdin!.write("go\n");
        expect(await Promise.all(workers.map((w) => w.exit))).toEqual([0, 0]);

        const { db } = database;
        const rows = await db.select().from(auditLogEntries).orderBy(auditLogEntries.index);
        expect(rows.map((r) => r.index)).toEqual(
          Array.from({ length: 2 * PER_PROCESS }, (_, i) => i),
        );
        const payloads = await db.select().from(auditLogPayloads).orderBy(auditLogPayloads.index);
        const labels = payloads.map(
          (p) => (JSON.parse(Buffer.from(p.payload).toString()) as { label: string }).label,
        );
        expect(labels.filter((l) => l === "A")).toHaveLength(PER_PROCESS);
        // They really ran at the same time: the labels alternate more than once.
        const switches = labels.filter((l, i) => i > 0 && l !== labels[i - 1]).length;
        expect(switches).toBeGreaterThan(1);

        const key = testKey();
        expect((await signCheckpointNow({ db, ...key, origin: ORIGIN }))!.size).toBe(
          2 * PER_PROCESS,
        );
        const report = await verifyDatabaseLog(db, { verifiers: [key.verifier], origin: ORIGIN });
        expect(report.problems).toEqual([]);
        expect(report).toMatchObject({ ok: true, size: 300, verifiedSize: 300 });
      } finally {
        await database.close();
      }
    });
  },
);
