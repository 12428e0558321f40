import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/index.js";
import { testDatabases } from "../db/test-databases.js";
import { HallmarkError } from "../errors/index.js";
import { createTenant } from "../tenants/index.js";
import { ORIGIN, testKey } from "./log/test-support.js";
import { verifyDatabaseLog } from "./log/verify-database.js";
import { findGeneration, type GenerationRecord, type ImageRecord } from "./record.js";
import { createRecorder } from "./recorder.js";

function image(logIndex: number, index = 0): ImageRecord {
  return {
    index,
    // The "signed bytes" depend on the index, as a manifest naming the index does.
    sha256: logIndex.toString(16).padStart(64, "0"),
    mediaType: "image/png",
    width: 8,
    height: 8,
    bytes: 100,
    seed: 1,
    marks: [{ kind: "c2pa", log_index: logIndex }],
  };
}

describe.each(testDatabases())("the audit recorder (group commit) on $name", ({ open }) => {
  let database: Database;
  let tenantId: string;
  const key = testKey();
  const record = (over: Partial<GenerationRecord> = {}): GenerationRecord => ({
    id: randomUUID(),
    tenantId,
    apiKeyId: null,
    endUser: null,
    kind: "generate",
    status: "completed",
    retention: "sha256",
    prompt: "a lighthouse",
    params: {},
    model: "m",
    backend: "b",
    action: "allow",
    decision: {},
    stages: [],
    images: [],
    ...over,
  });

  beforeAll(async () => {
    database = await open();
    tenantId = (await createTenant(database.db, "acme")).id;
  });
  afterAll(() => database.close());

  it("gives each concurrent record the index its seal was told, contiguous, in one verifiable log", async () => {
    const recorder = createRecorder(database.db, { maxBatch: 8 });
    const told = new Map<string, number>();
    const records = Array.from({ length: 25 }, () => record());
    const results = await Promise.all(
      records.map((r) =>
        recorder.record(r, async (logIndex) => {
          told.set(r.id, logIndex);
          await new Promise((resolve) => setTimeout(resolve, 2));
          return { images: [image(logIndex)] };
        }),
      ),
    );
    const indices = results.map((r) => r.logIndex).sort((a, b) => a - b);
    expect(new Set(indices).size).toBe(25);
    expect(indices.at(-1)! - indices[0]!).toBe(24);
    for (const [i, r] of records.entries()) {
      expect(told.get(r.id)).toBe(results[i]!.logIndex);
      const stored = await findGeneration(database.db, r.id);
      expect(stored?.generation.logIndex).toBe(results[i]!.logIndex);
      expect(stored?.images[0]?.sha256).toBe(image(results[i]!.logIndex).sha256);
    }
    const report = await verifyDatabaseLog(database.db, {
      verifiers: [key.verifier],
      origin: ORIGIN,
    });
    expect(report.ok).toBe(true);
  });

  it("records a request whose seal fails as failed at its index and throws the seal's error", async () => {
    const recorder = createRecorder(database.db);
    const good = record();
    const bad = record();
    const [ok, failed] = await Promise.allSettled([
      recorder.record(good, async (i) => ({ images: [image(i)] })),
      recorder.record(bad, async () => {
        throw new HallmarkError("signing_failed", "the signer is down");
      }),
    ]);
    expect(ok.status).toBe("fulfilled");
    expect(failed.status).toBe("rejected");
    expect((failed as PromiseRejectedResult).reason.code).toBe("signing_failed");
    const stored = await findGeneration(database.db, bad.id);
    expect(stored?.generation.status).toBe("failed");
    expect(stored?.generation.errorCode).toBe("signing_failed");
    expect(stored?.images).toHaveLength(0);
  });

  it("gives up on a seal that hangs, so the sequencer lock is not held forever", async () => {
    const recorder = createRecorder(database.db, { sealTimeoutMs: 50 });
    const hung = record();
    await expect(recorder.record(hung, () => new Promise(() => {}))).rejects.toMatchObject({
      code: "signing_failed",
    });
    expect((await findGeneration(database.db, hung.id))?.generation.status).toBe("failed");
    // The recorder still works afterwards.
    const next = record();
    await expect(recorder.record(next)).resolves.toHaveProperty("logIndex");
  });

  it("does not let one bad record fail the others in its batch", async () => {
    const recorder = createRecorder(database.db);
    const first = record();
    await recorder.record(first);
    const duplicate = record({ id: first.id });
    const others = [record(), record(), record()];
    const settled = await Promise.allSettled([
      ...others.map((r) => recorder.record(r, async (i) => ({ images: [image(i)] }))),
      recorder.record(duplicate),
    ]);
    expect(settled.slice(0, 3).every((s) => s.status === "fulfilled")).toBe(true);
    expect(settled[3]!.status).toBe("rejected");
    expect((settled[3] as PromiseRejectedResult).reason.code).toBe("internal_error");
    for (const r of others) {
      const stored = await findGeneration(database.db, r.id);
      // Re-sealed for the index it finally got.
      expect(stored?.images[0]?.sha256).toBe(image(stored!.generation.logIndex!).sha256);
    }
    const report = await verifyDatabaseLog(database.db, {
      verifiers: [key.verifier],
      origin: ORIGIN,
    });
    expect(report.ok).toBe(true);
  });

  it("fails closed with database_unavailable when the database is gone", async () => {
    const gone = await open();
    const recorder = createRecorder(gone.db);
    await gone.close();
    await expect(recorder.record(record())).rejects.toMatchObject({
      code: "database_unavailable",
    });
  });

  it("keeps the log index of every record equal to its row's", async () => {
    const rows = await database.db.execute(
      sql`select count(*)::int as n from generations g join audit_log_entries e on e.index = g.log_index and e.generation_id = g.id`,
    );
    const all = await database.db.execute(sql`select count(*)::int as n from generations`);
    const n = (r: unknown) =>
      Number(((Array.isArray(r) ? r : (r as { rows: unknown[] }).rows)[0] as { n: number }).n);
    expect(n(rows)).toBe(n(all));
  });
});
