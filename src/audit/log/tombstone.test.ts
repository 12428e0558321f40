import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/index.js";
import { auditLogEntries, auditLogPayloads } from "../../db/schema-audit.js";
import { testDatabases } from "../../db/test-databases.js";
import { decodeHashes, leafHash, openCheckpoint, verifyInclusion } from "../tlog/index.js";
import { signCheckpointNow } from "./checkpoints.js";
import { parseEnvelope } from "./entry.js";
import { getEntries, getInclusionProof } from "./serve.js";
import { appendMany, ORIGIN, testKey } from "./test-support.js";
import { tombstone } from "./tombstone.js";
import { verifyDatabaseLog } from "./verify-database.js";

describe.each(testDatabases())("retention (tombstones) on $name", ({ open }) => {
  let database: Database;
  const key = testKey();
  beforeAll(async () => {
    database = await open();
    await appendMany(database.db, 10);
  });
  afterAll(async () => {
    await database?.close();
  });

  it("removes the payload, appends a tombstone, and the tree still verifies", async () => {
    const { db } = database;
    const before = (await signCheckpointNow({ db, ...key, origin: ORIGIN }))!;
    const result = await tombstone(db, 3, "  retention: 30 days ");
    expect(result).toMatchObject({ index: 10, redacts: 3 });
    expect(await db.select().from(auditLogPayloads).where(eq(auditLogPayloads.index, 3))).toEqual(
      [],
    );
    const [row] = await db.select().from(auditLogEntries).where(eq(auditLogEntries.index, 10));
    expect(row).toMatchObject({ kind: "tombstone", redactsIndex: 3 });
    expect(parseEnvelope(row!.entry)).toMatchObject({
      kind: "tombstone",
      redacts: 3,
      reason: "retention: 30 days",
    });
    // Entry 3 is still served (its envelope), without payload, and still proves its inclusion.
    const served = (await getEntries(db, 3, 4)).entries[0]!;
    expect(served.payload).toBeUndefined();
    const proof = await getInclusionProof(db, 3, before.size);
    const root = openCheckpoint(before.note, [key.verifier], ORIGIN).rootHash;
    expect(
      verifyInclusion(
        leafHash(Buffer.from(served.data, "base64")),
        3,
        before.size,
        decodeHashes(proof.hashes),
        root,
      ),
    ).toBe(true);
    await signCheckpointNow({ db, ...key, origin: ORIGIN });
    const report = await verifyDatabaseLog(db, { verifiers: [key.verifier], origin: ORIGIN });
    expect(report).toMatchObject({ ok: true, size: 11, verifiedSize: 11 });
  });

  it("the trigger lets a payload go only once a tombstone names it", async () => {
    const { db } = database;
    await expect(db.execute(sql`delete from audit_log_payloads where index = 4`)).rejects.toThrow();
    // The tombstoned index's payload row is gone; deleting by the tombstone's authority is a no-op.
    await db.execute(sql`delete from audit_log_payloads where index = 3`);
  });

  it("refuses unknown entries, tombstones, payloads already gone, and bad reasons", async () => {
    const { db } = database;
    await expect(tombstone(db, 99, "x")).rejects.toMatchObject({
      code: "invalid_request_error",
      param: "index",
    });
    await expect(tombstone(db, 10, "x")).rejects.toMatchObject({ param: "index" });
    await expect(tombstone(db, 3, "again")).rejects.toMatchObject({ param: "index" });
    await expect(tombstone(db, 4, " ")).rejects.toMatchObject({ param: "reason" });
    await expect(tombstone(db, 4, "a\nb")).rejects.toMatchObject({ param: "reason" });
    await expect(tombstone(db, 4, "x".repeat(501))).rejects.toMatchObject({ param: "reason" });
    expect((await db.select().from(auditLogEntries)).length).toBe(11);
  });
});
