import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/index.js";
import { auditLogEntries, auditLogNodes, auditLogPayloads } from "../../db/schema-audit.js";
import { testDatabases } from "../../db/test-databases.js";
import { CompactRange, leafHash, toHex } from "../tlog/index.js";
import { appendEntry } from "./append.js";
import { parseEnvelope, payloadHash } from "./entry.js";
import { appendMany } from "./test-support.js";

describe.each(testDatabases())("appendEntry on $name", ({ open }) => {
  let database: Database;
  beforeAll(async () => {
    database = await open();
  });
  afterAll(async () => {
    await database?.close();
  });

  it("gives indices 0, 1, 2, … and stores the entry bytes exactly as hashed", async () => {
    const { db } = database;
    const first = await appendEntry(db, {
      kind: "generation",
      generationId: "0190c2a4-7f7e-7a3b-9c1d-2b3c4d5e6f70",
      payload: { prompt: "a red fox", b: [1, 2.5] },
      attributes: { images: ["ab".repeat(32)] },
      time: new Date("2026-01-02T03:04:05.678Z"),
    });
    expect(first.index).toBe(0);
    const [row] = await db.select().from(auditLogEntries);
    expect(toHex(leafHash(row!.entry))).toBe(first.leafHash);
    expect(toHex(row!.leafHash)).toBe(first.leafHash);
    const envelope = parseEnvelope(row!.entry)!;
    expect(envelope).toMatchObject({
      v: 1,
      kind: "generation",
      generationId: "0190c2a4-7f7e-7a3b-9c1d-2b3c4d5e6f70",
      time: "2026-01-02T03:04:05.678Z",
      attributes: { images: ["ab".repeat(32)] },
    });
    expect(new TextDecoder().decode(row!.entry)).not.toContain("red fox");
    const [payload] = await db.select().from(auditLogPayloads);
    expect(new TextDecoder().decode(payload!.payload)).toBe('{"b":[1,2.5],"prompt":"a red fox"}');
    expect(payloadHash(payload!.salt, payload!.payload)).toBe(envelope.payloadHash);
    expect(row!.createdAt.toISOString()).toBe("2026-01-02T03:04:05.678Z");
    const more = await appendMany(db, 3);
    expect(more).toEqual([1, 2, 3]);
  });

  it("commits with the caller's transaction, or not at all", async () => {
    const { db } = database;
    const before = (await db.select().from(auditLogEntries)).length;
    await expect(
      db.transaction(async (tx) => {
        await appendEntry(tx, { kind: "decision", payload: { x: 1 } });
        throw new Error("the generation insert failed");
      }),
    ).rejects.toThrow("the generation insert failed");
    expect((await db.select().from(auditLogEntries)).length).toBe(before);
    const both = await db.transaction(async (tx) => [
      await appendEntry(tx, { kind: "decision", payload: { x: 2 } }),
      await appendEntry(tx, { kind: "review", payload: { x: 3 } }),
    ]);
    expect(both.map((b) => b.index)).toEqual([before, before + 1]);
  });

  it("stores every completed perfect subtree of level ≥ 8, as CompactRange reports them", async () => {
    const { db } = database;
    const size = (await db.select().from(auditLogEntries)).length;
    await appendMany(db, 1024 + 3 - size);
    const leaves = await db.select().from(auditLogEntries).orderBy(auditLogEntries.index);
    const expected: string[] = [];
    const range = CompactRange.empty();
    for (const row of leaves)
      range.append(row.leafHash, (n) => {
        if (n.level >= 8) expected.push(`${n.level}/${n.index}/${toHex(n.hash)}`);
      });
    const nodes = await db.select().from(auditLogNodes);
    expect(nodes.map((n) => `${n.level}/${n.index}/${toHex(n.hash)}`).sort()).toEqual(
      expected.sort(),
    );
    expect(nodes).toHaveLength(4 + 2 + 1);
  });

  it("rejects what cannot be an entry", async () => {
    const { db } = database;
    await expect(
      appendEntry(db, { kind: "tombstone" as "review", payload: {} }),
    ).rejects.toMatchObject({
      code: "invalid_request_error",
      param: "kind",
    });
    await expect(
      appendEntry(db, { kind: "review", generationId: "nope", payload: {} }),
    ).rejects.toMatchObject({
      param: "generationId",
    });
    await expect(
      appendEntry(db, { kind: "review", payload: { n: Number.NaN } }),
    ).rejects.toMatchObject({
      code: "invalid_request_error",
    });
  });

  it("triggers refuse UPDATE, DELETE and TRUNCATE on every log table", async () => {
    const { db } = database;
    const refused = [
      sql`update audit_log_entries set kind = 'review' where index = 0`,
      sql`delete from audit_log_entries where index = 0`,
      sql`truncate audit_log_entries`,
      sql`update audit_log_payloads set payload = '\\x7b7d' where index = 0`,
      sql`delete from audit_log_payloads where index = 0`,
      sql`truncate audit_log_payloads`,
      sql`update audit_log_nodes set hash = hash where level = 8`,
      sql`delete from audit_log_nodes`,
      sql`truncate audit_log_nodes`,
      sql`insert into audit_log_checkpoints (size, root_hash, note) values (0, decode(repeat('00', 32), 'hex'), 'x')`,
    ];
    for (const statement of refused.slice(0, -1)) {
      const error = await db.execute(statement).then(
        () => null,
        (e: unknown) => e as Error & { cause?: { message?: string } },
      );
      expect(error, String(statement.queryChunks[0])).not.toBeNull();
      expect(String(error?.cause?.message ?? error?.message)).toMatch(/append-only|tombstone/);
    }
    await db.execute(refused.at(-1)!);
    for (const statement of [
      sql`update audit_log_checkpoints set note = 'y'`,
      sql`delete from audit_log_checkpoints`,
    ]) {
      await expect(db.execute(statement)).rejects.toThrow();
    }
    // Nothing changed.
    const [row] = await db.select().from(auditLogEntries).where(sql`index = 0`);
    expect(row!.kind).toBe("generation");
  });
});
