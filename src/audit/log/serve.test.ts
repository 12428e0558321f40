import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/index.js";
import { auditLogEntries } from "../../db/schema-audit.js";
import { testDatabases } from "../../db/test-databases.js";
import {
  consistencyProof,
  decodeHashes,
  fromBase64,
  inclusionProof,
  leafHash,
  MemoryLeafSource,
  rootHash,
  verifyConsistency,
  verifyInclusion,
} from "../tlog/index.js";
import { databaseLeafSource } from "./leaf-source.js";
import { getConsistencyProof, getEntries, getInclusionProof, MAX_ENTRIES_PAGE } from "./serve.js";
import { appendMany } from "./test-support.js";

const SIZE = 1300;

describe.each(testDatabases())("proofs and entries over $name", ({ open }) => {
  let database: Database;
  let leaves: Uint8Array[];
  beforeAll(async () => {
    database = await open();
    await appendMany(database.db, SIZE);
    const rows = await database.db.select().from(auditLogEntries).orderBy(auditLogEntries.index);
    leaves = rows.map((r) => leafHash(r.entry));
  });
  afterAll(async () => {
    await database?.close();
  });

  it("serves inclusion proofs that verify, equal to proofs from the leaves alone", async () => {
    const memory = new MemoryLeafSource(leaves);
    for (const [index, size] of [
      [0, 1],
      [5, 256],
      [255, 256],
      [256, 257],
      [700, 1024],
      [1299, 1300],
      [3, 1300],
      [1023, 1100],
    ] as const) {
      const served = await getInclusionProof(database.db, String(index), String(size));
      expect(served).toMatchObject({ index, size });
      const hashes = decodeHashes(served.hashes);
      const root = rootHash(leaves.slice(0, size));
      expect(verifyInclusion(leaves[index]!, index, size, hashes, root)).toBe(true);
      expect(hashes).toEqual(await inclusionProof(memory, index, size));
    }
  });

  it("serves consistency proofs that verify", async () => {
    for (const [first, second] of [
      [0, 10],
      [1, 1300],
      [256, 512],
      [300, 1300],
      [1024, 1300],
      [1300, 1300],
    ] as const) {
      const served = await getConsistencyProof(database.db, first, second);
      const hashes = decodeHashes(served.hashes);
      const ok = verifyConsistency(
        first,
        second,
        hashes,
        rootHash(leaves.slice(0, first)),
        rootHash(leaves.slice(0, second)),
      );
      expect(ok, `${first}→${second}`).toBe(true);
      expect(hashes).toEqual(await consistencyProof(new MemoryLeafSource(leaves), first, second));
    }
  });

  it("reads fewer than 512 leaf hashes per proof thanks to stored nodes", async () => {
    const source = databaseLeafSource(database.db);
    let leafReads = 0;
    const counting = {
      ...source,
      leafHashes: async (a: number, b: number) => {
        leafReads += b - a;
        return source.leafHashes(a, b);
      },
    };
    await inclusionProof(counting, 3, 1300);
    expect(leafReads).toBeLessThan(2 * 256);
    leafReads = 0;
    await consistencyProof(counting, 300, 1300);
    expect(leafReads).toBeLessThan(2 * 256);
  });

  it("pages entries, bounded, with bytes that hash to the served leaf hash", async () => {
    const page = await getEntries(database.db, "0", "5000");
    expect(page).toMatchObject({ start: 0, end: MAX_ENTRIES_PAGE, size: SIZE });
    expect(page.entries).toHaveLength(MAX_ENTRIES_PAGE);
    const next = await getEntries(database.db, page.end);
    expect(next).toMatchObject({ start: MAX_ENTRIES_PAGE, end: SIZE });
    const entry = next.entries.at(-1)!;
    expect(entry.index).toBe(SIZE - 1);
    expect(leafHash(fromBase64(entry.data)!)).toEqual(fromBase64(entry.leafHash));
    expect(entry.payload).toBeDefined();
    expect(entry.salt).toBeDefined();
  });

  it("rejects bad arguments with the parameter named", async () => {
    const { db } = database;
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => getInclusionProof(db, "-1", "5"), "index"],
      [() => getInclusionProof(db, "5", "5"), "index"],
      [() => getInclusionProof(db, "1", "99999"), "size"],
      [() => getInclusionProof(db, "1", "1e3"), "size"],
      [() => getInclusionProof(db, "01", "3"), "index"],
      [() => getInclusionProof(db, "1", "99999999999999999999"), "size"],
      [() => getConsistencyProof(db, "7", "3"), "first"],
      [() => getConsistencyProof(db, "1", undefined), "second"],
      [() => getEntries(db, "1300"), "start"],
      [() => getEntries(db, "5", "5"), "end"],
      [() => getEntries(db, "x"), "start"],
    ];
    for (const [call, param] of cases) {
      await expect(call()).rejects.toMatchObject({ code: "invalid_request_error", param });
    }
  });
});
