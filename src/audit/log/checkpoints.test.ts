import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/index.js";
import { auditLogCheckpoints, auditLogEntries } from "../../db/schema-audit.js";
import { testDatabases } from "../../db/test-databases.js";
import { fromBase64, leafHash, openCheckpoint, rootHash } from "../tlog/index.js";
import { createCheckpointer } from "./checkpointer.js";
import { latestCheckpoint, listCheckpoints, signCheckpointNow } from "./checkpoints.js";
import { appendMany, asTamperer, ORIGIN, testKey } from "./test-support.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(testDatabases())("checkpoints on $name", ({ open }) => {
  let database: Database;
  const key = testKey();
  beforeAll(async () => {
    database = await open();
  });
  afterAll(async () => {
    await database?.close();
  });

  async function rootNow(size: number) {
    const rows = await database.db.select().from(auditLogEntries).orderBy(auditLogEntries.index);
    return rootHash(rows.slice(0, size).map((r) => leafHash(r.entry)));
  }

  it("signs the committed tree as a C2SP checkpoint and serves the latest", async () => {
    const { db } = database;
    expect(await latestCheckpoint(db)).toBeNull();
    await appendMany(db, 300);
    const record = (await signCheckpointNow({ db, ...key, origin: ORIGIN }))!;
    expect(record.size).toBe(300);
    const opened = openCheckpoint(record.note, [key.verifier], ORIGIN);
    expect(opened.rootHash).toEqual(await rootNow(300));
    expect(fromBase64(record.rootHash)).toEqual(opened.rootHash);
    expect(record.note.startsWith(`${ORIGIN}\n300\n${record.rootHash}\n\n— ${ORIGIN} `)).toBe(true);
    expect(await latestCheckpoint(db)).toEqual(record);
    // Nothing new: the same checkpoint, no second row.
    expect(await signCheckpointNow({ db, ...key, origin: ORIGIN })).toEqual(record);
    expect(await listCheckpoints(db)).toHaveLength(1);
  });

  it("refuses a key named for another origin", async () => {
    await expect(
      signCheckpointNow({ db: database.db, ...key, origin: "other.example/log" }),
    ).rejects.toMatchObject({ code: "config_error" });
  });

  it("refuses to sign a log changed under its last checkpoint", async () => {
    const { db } = database;
    await appendMany(db, 5);
    // Entry 290 lies past the last stored subtree (0..255), so the new root is computed from
    // its leaf hash: rewriting bytes and leaf hash together must not get signed.
    await asTamperer(db, async (tx) => {
      const forged = new TextEncoder().encode('{"forged":true}');
      await tx.execute(
        sql`update audit_log_entries set entry = ${Buffer.from(forged)}, leaf_hash = ${Buffer.from(leafHash(forged))} where index = 290`,
      );
      await expect(signCheckpointNow({ db: tx, ...key, origin: ORIGIN })).rejects.toMatchObject({
        code: "audit_verification_failed",
        details: { reason: "inconsistent" },
      });
    });
    await asTamperer(db, async (tx) => {
      await tx.execute(sql`delete from audit_log_entries where index >= 200`);
      await expect(signCheckpointNow({ db: tx, ...key, origin: ORIGIN })).rejects.toMatchObject({
        details: { reason: "truncated" },
      });
    });
    // Untouched, it extends the log.
    expect((await signCheckpointNow({ db, ...key, origin: ORIGIN }))!.size).toBe(305);
  });

  it("checkpoints every N entries and every T seconds, and stops cleanly", async () => {
    const { db } = database;
    const made: number[] = [];
    const errors: unknown[] = [];
    const checkpointer = createCheckpointer({
      db,
      ...key,
      origin: ORIGIN,
      everyEntries: 10,
      everySeconds: 0.4,
      pollMs: 50,
      onCheckpoint: (c) => made.push(c.size),
      onError: (e) => errors.push(e),
    });
    checkpointer.start();
    checkpointer.start();
    await appendMany(db, 12);
    checkpointer.appended(12);
    for (let i = 0; i < 40 && made.length === 0; i++) await sleep(25);
    expect(made).toEqual([317]);
    await appendMany(db, 3); // below N: signed after T
    await sleep(100);
    expect(made).toEqual([317]);
    for (let i = 0; i < 60 && made.length === 1; i++) await sleep(25);
    expect(made).toEqual([317, 320]);
    await sleep(500); // no new entries: no new checkpoint
    expect(made).toEqual([317, 320]);
    await checkpointer.stop();
    await appendMany(db, 20);
    await sleep(200);
    expect(made).toEqual([317, 320]);
    expect(errors).toEqual([]);
    expect((await checkpointer.checkpoint())!.size).toBe(340);
    const rows = await db.select().from(auditLogCheckpoints);
    expect(rows.map((r) => r.size).sort((a, b) => a - b)).toEqual([300, 305, 317, 320, 340]);
  });
});
