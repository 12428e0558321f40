import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJsonBytes } from "./canonical.js";
import { signCheckpoint } from "./checkpoint.js";
import { leafHash } from "./hash.js";
import { createNoteSigner, createNoteVerifier, generateNoteKey } from "./keys.js";
import { rootHash } from "./merkle.js";
import { type LogEntryInput, verifyLog } from "./verify-log.js";

const origin = "example.com/hallmark/audit";
const keys = generateNoteKey(origin);
const signer = createNoteSigner(keys.skey);
const verifiers = [createNoteVerifier(keys.vkey)];

interface Log {
  rows: Required<LogEntryInput>[];
  checkpoints: string[];
}

/** A log of `n` entries with a signed checkpoint every `every` entries (and at 0). */
function makeLog(n: number, every: number): Log {
  const rows = Array.from({ length: n }, (_, index) => {
    const data = canonicalJsonBytes({ index, decision: index % 3 === 0 ? "block" : "allow" });
    return { index, data, leafHash: leafHash(data) };
  });
  const checkpoints: string[] = [];
  for (let size = 0; size <= n; size += every) {
    const root = rootHash(rows.slice(0, size).map((r) => r.leafHash));
    checkpoints.push(signCheckpoint({ origin, size, rootHash: root }, signer));
  }
  return { rows, checkpoints };
}

const verify = (
  rows: Iterable<LogEntryInput> | AsyncIterable<LogEntryInput>,
  checkpoints: string[],
) => verifyLog({ entries: rows, checkpoints, verifiers, origin });

const altered = (row: Required<LogEntryInput>, fixLeaf: boolean) => {
  const data = canonicalJsonBytes({ index: row.index, decision: "allow", edited: true });
  return { ...row, data, leafHash: fixLeaf ? leafHash(data) : row.leafHash };
};

describe("verifyLog", () => {
  it("passes an intact log and reports what the checkpoints cover", async () => {
    const { rows, checkpoints } = makeLog(23, 5);
    const report = await verify(rows, checkpoints);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.size).toBe(23);
    expect(report.verifiedSize).toBe(20);
    expect(report.firstBadEntry).toBeNull();
    expect(report.checkpoints.map((c) => c.status)).toEqual(Array(5).fill("verified"));
    expect(Buffer.from(report.rootHash)).toEqual(
      Buffer.from(rootHash(rows.map((r) => r.leafHash))),
    );
  });

  it("reads entries from an async iterable (a cursor or paged HTTP)", async () => {
    const { rows, checkpoints } = makeLog(9, 4);
    async function* pages() {
      for (let i = 0; i < rows.length; i += 2) {
        await Promise.resolve();
        yield* rows.slice(i, i + 2);
      }
    }
    expect((await verify(pages(), checkpoints)).ok).toBe(true);
  });

  it("accepts tombstoned rows that keep only their leaf hash", async () => {
    const { rows, checkpoints } = makeLog(10, 5);
    const tombstoned = rows.map((r, i) => (i === 3 ? { index: 3, leafHash: r.leafHash } : r));
    expect((await verify(tombstoned, checkpoints)).ok).toBe(true);
  });

  it("names an altered row exactly when its stored leaf hash was left alone", async () => {
    const { rows, checkpoints } = makeLog(20, 5);
    rows[7] = altered(rows[7]!, false);
    const report = await verify(rows, checkpoints);
    expect(report.ok).toBe(false);
    expect(report.firstBadEntry).toBe(7);
    expect(report.firstBadEntryExact).toBe(true);
    expect(report.verifiedSize).toBe(5);
    expect(report.problems.map((p) => p.kind)).toContain("leaf_hash_mismatch");
    expect(report.problems.map((p) => p.kind)).toContain("root_mismatch");
  });

  it("bounds an altered row whose leaf hash was recomputed by the checkpoints", async () => {
    const { rows, checkpoints } = makeLog(20, 5);
    rows[7] = altered(rows[7]!, true);
    const report = await verify(rows, checkpoints);
    expect(report.ok).toBe(false);
    expect(report.firstBadEntry).toBe(5);
    expect(report.firstBadEntryExact).toBe(false);
    expect(report.checkpoints[2]!.status).toBe("root_mismatch");
  });

  it("names a deleted row exactly", async () => {
    const { rows, checkpoints } = makeLog(20, 5);
    const report = await verify(
      rows.filter((r) => r.index !== 12),
      checkpoints,
    );
    expect(report.firstBadEntry).toBe(12);
    expect(report.firstBadEntryExact).toBe(true);
    expect(report.problems[0]!.kind).toBe("missing_entry");
  });

  it("names rows deleted from the end exactly when a checkpoint covered them", async () => {
    const { rows, checkpoints } = makeLog(20, 5);
    const report = await verify(rows.slice(0, 17), checkpoints);
    expect(report.firstBadEntry).toBe(17);
    expect(report.firstBadEntryExact).toBe(true);
    expect(report.problems.map((p) => p.kind)).toEqual(["truncated"]);
    expect(report.checkpoints[4]!.status).toBe("beyond_log");
    expect(report.verifiedSize).toBe(15);
  });

  it("detects reordered rows", async () => {
    const { rows, checkpoints } = makeLog(20, 5);
    const swapped = rows.map((r) => ({ ...r }));
    swapped[11] = { ...rows[13]!, index: 11 };
    swapped[13] = { ...rows[11]!, index: 13 };
    const report = await verify(swapped, checkpoints);
    expect(report.ok).toBe(false);
    expect(report.firstBadEntry).toBe(10);
    expect(report.problems.map((p) => p.kind)).toEqual(["root_mismatch", "root_mismatch"]);
  });

  it("names a repeated index exactly", async () => {
    const { rows, checkpoints } = makeLog(10, 5);
    const report = await verify([...rows.slice(0, 7), rows[6]!, ...rows.slice(7)], checkpoints);
    expect(report.firstBadEntry).toBe(6);
    expect(report.problems.map((p) => p.kind)).toEqual(["duplicate_entry"]);
  });

  it("rejects forged checkpoints, other origins and other keys", async () => {
    const { rows, checkpoints } = makeLog(10, 5);
    const forged = checkpoints[1]!.replace(/\n5\n/, "\n4\n");
    const otherKey = signCheckpoint(
      { origin, size: 10, rootHash: rootHash(rows.map((r) => r.leafHash)) },
      createNoteSigner(generateNoteKey(origin).skey),
    );
    const otherOrigin = signCheckpoint(
      { origin: "example.com/other", size: 0, rootHash: rootHash([]) },
      signer,
    );
    const report = await verify(rows, [...checkpoints, forged, otherKey, otherOrigin, "junk"]);
    expect(report.ok).toBe(false);
    expect(report.firstBadEntry).toBeNull();
    expect(report.verifiedSize).toBe(10);
    expect(report.checkpoints.slice(3).map((c) => [c.status, c.reason])).toEqual([
      ["bad_signature", "invalid_signature"],
      ["bad_signature", "no_verified_signature"],
      ["bad_signature", "wrong_origin"],
      ["bad_signature", "malformed_note"],
    ]);
  });

  it("reports checkpoints that cannot describe one log", async () => {
    const { rows, checkpoints } = makeLog(10, 5);
    // A validly signed fork: a different history at size 5.
    const other = makeLog(10, 5);
    const forkRows = other.rows.map((r) => ({ ...r }));
    forkRows[2] = altered(forkRows[2]!, true);
    const fork = signCheckpoint(
      { origin, size: 5, rootHash: rootHash(forkRows.slice(0, 5).map((r) => r.leafHash)) },
      signer,
    );
    const report = await verify(rows, [...checkpoints, fork]);
    const kinds = report.problems.map((p) => p.kind);
    expect(kinds).toContain("root_mismatch");
    expect(kinds).toContain("inconsistent_checkpoints");
    expect(report.firstBadEntry).toBe(0);
  });

  it("optionally requires canonical entry bytes", async () => {
    const { rows, checkpoints } = makeLog(6, 3);
    const data = new TextEncoder().encode('{ "index": 4 }');
    rows[4] = { index: 4, data, leafHash: leafHash(data) };
    const fixed = makeLogWith(rows);
    const lax = await verify(rows, fixed);
    expect(lax.ok).toBe(true);
    const strict = await verifyLog({
      entries: rows,
      checkpoints: fixed,
      verifiers,
      origin,
      requireCanonical: true,
    });
    expect(strict.firstBadEntry).toBe(4);
    expect(strict.problems.map((p) => p.kind)).toEqual(["non_canonical_entry"]);
    expect(checkpoints).toHaveLength(3);
  });

  it("detects any one tampering covered by a checkpoint, never blaming an entry it proved", async () => {
    const tamperArb = fc.record({
      n: fc.integer({ min: 1, max: 40 }),
      every: fc.integer({ min: 1, max: 9 }),
      at: fc.nat(),
      other: fc.nat(),
      kind: fc.constantFrom("alter", "alterFixed", "delete", "swap", "truncate"),
    });
    await fc.assert(
      fc.asyncProperty(tamperArb, async ({ n, every, at, other, kind }) => {
        const { rows, checkpoints } = makeLog(n, every);
        const i = at % n;
        let tampered: LogEntryInput[] = rows.map((r) => ({ ...r }));
        if (kind === "alter") tampered[i] = altered(rows[i]!, false);
        if (kind === "alterFixed") tampered[i] = altered(rows[i]!, true);
        if (kind === "delete") tampered.splice(i, 1);
        if (kind === "truncate") tampered = tampered.slice(0, i);
        let first = i;
        if (kind === "swap") {
          const j = other % n;
          if (j === i) return;
          tampered[i] = { ...rows[j]!, index: i };
          tampered[j] = { ...rows[i]!, index: j };
          first = Math.min(i, j);
        }
        const report = await verify(tampered, checkpoints);
        const covered = Math.floor(n / every) * every;
        const proven = Math.floor(first / every) * every;
        if (first < covered || kind === "alter" || (kind === "delete" && i < n - 1)) {
          expect(report.ok).toBe(false);
          expect(report.firstBadEntry).not.toBeNull();
          expect(report.firstBadEntry!).toBeLessThanOrEqual(first);
          expect(report.firstBadEntry!).toBeGreaterThanOrEqual(proven);
        }
        expect(report.verifiedSize).toBeLessThanOrEqual(first);
      }),
      { numRuns: 200 },
    );
  });
});

/** Checkpoints every 3 entries over rows as given. */
function makeLogWith(rows: Required<LogEntryInput>[]): string[] {
  const out: string[] = [];
  for (let size = 0; size <= rows.length; size += 3) {
    const root = rootHash(rows.slice(0, size).map((r) => r.leafHash));
    out.push(signCheckpoint({ origin, size, rootHash: root }, signer));
  }
  return out;
}
