import { type SQL, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database, Db } from "../../db/index.js";
import { testDatabases } from "../../db/test-databases.js";
import { createNoteSigner, generateNoteKey, signCheckpoint } from "../tlog/index.js";
import { signCheckpointNow } from "./checkpoints.js";
import { prepareEntry } from "./entry.js";
import { asBuffer } from "./sql.js";
import { appendMany, asTamperer, ORIGIN, testKey } from "./test-support.js";
import { tombstone } from "./tombstone.js";
import { verifyDatabaseLog } from "./verify-database.js";

describe.each(testDatabases())("audit verify on $name detects tampering", ({ open }) => {
  let database: Database;
  const key = testKey();
  const verify = (db: Db) =>
    verifyDatabaseLog(db, { verifiers: [key.verifier], origin: ORIGIN, pageSize: 97 });
  const tampered = (...statements: SQL[]) =>
    asTamperer(database.db, async (tx) => {
      for (const statement of statements) await tx.execute(statement);
      return verify(tx);
    });
  const kinds = (report: { problems: Array<{ kind: string }> }) =>
    [...new Set(report.problems.map((p) => p.kind))].sort();

  beforeAll(async () => {
    database = await open();
    const { db } = database;
    await appendMany(db, 300);
    await signCheckpointNow({ db, ...key, origin: ORIGIN });
    await tombstone(db, 5, "retention: 30 days"); // entry 300
    await appendMany(db, 299);
    await signCheckpointNow({ db, ...key, origin: ORIGIN });
    await appendMany(db, 5); // not yet under a checkpoint
  });
  afterAll(async () => {
    await database?.close();
  });

  it("passes on the untouched log, tombstoned payload included", async () => {
    const report = await verify(database.db);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, size: 605, verifiedSize: 600, firstBadEntry: null });
  });

  it("an altered entry: its bytes no longer match its leaf hash", async () => {
    const report = await tampered(
      sql`update audit_log_entries set entry = overlay(entry placing '\\x5a'::bytea from 20 for 1) where index = 42`,
    );
    expect(report).toMatchObject({ ok: false, firstBadEntry: 42, firstBadEntryExact: true });
    expect(kinds(report)).toContain("leaf_hash_mismatch");
  });

  it("an entry rewritten with a matching leaf hash and payload: the checkpoint's root fails", async () => {
    const forged = prepareEntry({ kind: "generation", payload: { prompt: "something else" } });
    const report = await tampered(
      sql`update audit_log_entries set entry = ${asBuffer(forged.bytes)}, leaf_hash = ${asBuffer(forged.leafHash)} where index = 42`,
      sql`update audit_log_payloads set salt = ${asBuffer(forged.payload!.salt)}, payload = ${asBuffer(forged.payload!.bytes)} where index = 42`,
    );
    expect(report.ok).toBe(false);
    expect(kinds(report)).toEqual(["node_mismatch", "root_mismatch"]);
    // Pinned to the window before the first failing checkpoint.
    expect(report).toMatchObject({ firstBadEntry: 0, firstBadEntryExact: false, verifiedSize: 0 });
  });

  it("a deleted entry: the gap is the first bad entry", async () => {
    const report = await tampered(
      sql`delete from audit_log_payloads where index = 42`,
      sql`delete from audit_log_entries where index = 42`,
    );
    expect(report).toMatchObject({ ok: false, firstBadEntry: 42, firstBadEntryExact: true });
    expect(kinds(report)).toContain("missing_entry");
  });

  it("reordered entries: swapped bytes, and swapped bytes with their leaf hashes", async () => {
    const swapBytes = sql`update audit_log_entries e set entry = o.entry from audit_log_entries o
      where (e.index, o.index) in ((420, 421), (421, 420))`;
    const bytesOnly = await tampered(swapBytes);
    expect(bytesOnly).toMatchObject({ ok: false, firstBadEntry: 420, firstBadEntryExact: true });
    const whole =
      await tampered(sql`update audit_log_entries e set entry = o.entry, leaf_hash = o.leaf_hash
      from audit_log_entries o where (e.index, o.index) in ((420, 421), (421, 420))`);
    expect(whole.ok).toBe(false);
    expect(kinds(whole)).toContain("root_mismatch");
    expect(whole).toMatchObject({ firstBadEntry: 300, verifiedSize: 300 });
    expect(whole.firstBadEntry!).toBeLessThanOrEqual(420);
  });

  it("entries removed from the end: the log is shorter than its checkpoint", async () => {
    const report = await tampered(
      sql`delete from audit_log_payloads where index >= 590`,
      sql`delete from audit_log_entries where index >= 590`,
    );
    expect(report).toMatchObject({
      ok: false,
      size: 590,
      firstBadEntry: 590,
      firstBadEntryExact: true,
    });
    expect(kinds(report)).toContain("truncated");
  });

  it("a changed payload, a payload gone without tombstone, a changed kind", async () => {
    const changed = await tampered(
      sql`update audit_log_payloads set payload = convert_to('{"prompt":"innocent"}', 'UTF8') where index = 100`,
    );
    expect(changed).toMatchObject({ ok: false, firstBadEntry: 100, firstBadEntryExact: true });
    expect(kinds(changed)).toEqual(["payload_mismatch"]);
    const gone = await tampered(sql`delete from audit_log_payloads where index = 100`);
    expect(kinds(gone)).toEqual(["payload_missing"]);
    expect(gone.firstBadEntry).toBe(100);
    const kind = await tampered(sql`update audit_log_entries set kind = 'review' where index = 7`);
    expect(kinds(kind)).toEqual(["kind_mismatch"]);
    // A tombstone removed: the payload it accounted for is now missing without one, and a gap.
    const tombstoneGone = await tampered(sql`delete from audit_log_entries where index = 300`);
    expect(kinds(tombstoneGone)).toEqual(
      expect.arrayContaining(["missing_entry", "payload_missing"]),
    );
    expect(tombstoneGone.firstBadEntry).toBe(5);
  });

  it("a forged or altered checkpoint, and a corrupted stored node", async () => {
    const other = createNoteSigner(generateNoteKey(ORIGIN).skey);
    const forgedNote = signCheckpoint(
      { origin: ORIGIN, size: 600, rootHash: new Uint8Array(32) },
      other,
    );
    const forged = await tampered(
      sql`insert into audit_log_checkpoints (size, root_hash, note) values (601, decode(repeat('00', 32), 'hex'), ${forgedNote})`,
    );
    expect(kinds(forged)).toEqual(["bad_checkpoint"]);
    const altered = await tampered(
      sql`update audit_log_checkpoints set note = replace(note, E'\n300\n', E'\n299\n') where size = 300`,
    );
    expect(kinds(altered)).toEqual(["bad_checkpoint"]);
    const node = await tampered(
      sql`update audit_log_nodes set hash = sha256(hash) where level = 8 and index = 1`,
    );
    expect(node.ok).toBe(false);
    expect(kinds(node)).toEqual(["node_mismatch"]);
  });

  it("ordinary sessions cannot tamper: the triggers refuse before verify is needed", async () => {
    await expect(
      database.db.execute(sql`delete from audit_log_entries where index = 42`),
    ).rejects.toThrow();
    await expect(
      database.db.execute(sql`delete from audit_log_payloads where index = 42`),
    ).rejects.toThrow();
    expect((await verify(database.db)).ok).toBe(true);
  });
});
