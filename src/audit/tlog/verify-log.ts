import type { HallmarkError } from "../../errors/index.js";
import { isCanonicalJson } from "./canonical.js";
import { type Checkpoint, openCheckpoint } from "./checkpoint.js";
import { CompactRange } from "./compact.js";
import { emptyRoot, HASH_SIZE, hashEquals, leafHash, toHex } from "./hash.js";
import type { NoteVerifier } from "./keys.js";

/**
 * `verifyLog`: recompute the tree over every entry, check every checkpoint's signature and
 * root hash, check that the checkpoints are consistent with one another, and name the first
 * bad entry. Pure and streaming: entries may come from a database cursor or paged HTTP
 * responses; memory stays O(log n) plus the checkpoints. See docs/audit-log.md §6.
 */

/** One row of the log, as stored or served. */
export interface LogEntryInput {
  /** The log index the row claims (its index column). */
  index: number;
  /** The entry bytes (RFC 8785 canonical JSON); absent for a tombstoned payload. */
  data?: Uint8Array;
  /** The `leaf hash` stored with the row; when `data` is present too, they must agree. */
  leafHash?: Uint8Array;
}

export interface VerifyLogInput {
  /** Every row in index order. */
  entries: Iterable<LogEntryInput> | AsyncIterable<LogEntryInput>;
  /** Signed checkpoint notes, in any order. */
  checkpoints: readonly (string | Uint8Array)[];
  /** The log's checkpoint keys (`createNoteVerifier(vkey)`). */
  verifiers: readonly NoteVerifier[];
  /** The log's origin; checkpoints for another origin are rejected. */
  origin: string;
  /** Also require each entry's bytes to be canonical JSON already (default false). */
  requireCanonical?: boolean;
}

export type LogProblemKind =
  | "malformed_entry"
  | "non_canonical_entry"
  | "missing_entry"
  | "duplicate_entry"
  | "leaf_hash_mismatch"
  | "bad_checkpoint"
  | "root_mismatch"
  | "truncated"
  | "inconsistent_checkpoints";

export interface LogProblem {
  kind: LogProblemKind;
  message: string;
  /** The entry concerned, when one is. */
  index?: number;
  /** Position of the checkpoint concerned in the input list, when one is. */
  checkpoint?: number;
}

export interface CheckpointResult {
  /** Position in the input list. */
  position: number;
  /** `verified`: signature and root hash good; otherwise what failed. */
  status: "verified" | "bad_signature" | "root_mismatch" | "beyond_log";
  checkpoint?: Checkpoint;
  /** For `bad_signature`: the reason code from `openCheckpoint`. */
  reason?: string;
}

export interface VerifyLogReport {
  /** No problem found. Check `verifiedSize` too: entries past it are not covered by a checkpoint. */
  ok: boolean;
  /** Rows read. */
  size: number;
  /** The root hash recomputed over all rows read. */
  rootHash: Uint8Array;
  /** Entries [0, verifiedSize) are proven by a verified checkpoint below any bad entry. */
  verifiedSize: number;
  /**
   * The first bad entry: exactly (`firstBadEntryExact`) a missing, repeated or mismatching row
   * when one lies before the end of the first failing checkpoint; otherwise the first index
   * after the last checkpoint that still matches (the change lies between the two).
   * Entries [verifiedSize, firstBadEntry) are not proven either way.
   */
  firstBadEntry: number | null;
  firstBadEntryExact: boolean;
  checkpoints: CheckpointResult[];
  problems: LogProblem[];
}

interface Pending {
  position: number;
  checkpoint: Checkpoint;
}

/**
 * Verifies a whole log against its signed checkpoints.
 *
 * @example
 * const report = await verifyLog({ entries: rows(), checkpoints, verifiers: [createNoteVerifier(vkey)], origin });
 * if (!report.ok) console.error(report.firstBadEntry, report.problems);
 */
export async function verifyLog(input: VerifyLogInput): Promise<VerifyLogReport> {
  const problems: LogProblem[] = [];
  const results: CheckpointResult[] = [];
  const pending: Pending[] = [];
  input.checkpoints.forEach((note, position) => {
    try {
      const { note: _signed, ...checkpoint } = openCheckpoint(note, input.verifiers, input.origin);
      pending.push({ position, checkpoint });
      results[position] = { position, status: "verified", checkpoint };
    } catch (error) {
      const reason = String((error as HallmarkError).details?.reason ?? "malformed_note");
      results[position] = { position, status: "bad_signature", reason };
      problems.push({
        kind: "bad_checkpoint",
        checkpoint: position,
        message: `checkpoint ${position} does not verify: ${(error as Error).message}`,
      });
    }
  });
  pending.sort((a, b) => a.checkpoint.size - b.checkpoint.size || a.position - b.position);

  // Held in an object: closures assign them, which flow analysis does not follow.
  // `window`: [start, end) holds a change, from the first checkpoint whose root hash fails.
  const bad: { exact: number | null; window: [number, number] | null } = {
    exact: null,
    window: null,
  };
  const markExact = (index: number) => {
    bad.exact = bad.exact === null ? index : Math.min(bad.exact, index);
  };
  let firstMismatch: Pending | null = null;
  const matched: Pending[] = [];

  const range = CompactRange.empty();
  let next = 0; // index of the next checkpoint in `pending`
  const checkAt = (root: Uint8Array) => {
    while (next < pending.length && pending[next]!.checkpoint.size === range.size) {
      const p = pending[next++]!;
      if (hashEquals(p.checkpoint.rootHash, root)) {
        matched.push(p);
        if (firstMismatch !== null) {
          problems.push({
            kind: "inconsistent_checkpoints",
            checkpoint: p.position,
            message: `checkpoints ${firstMismatch.position} (size ${firstMismatch.checkpoint.size}) and ${p.position} (size ${p.checkpoint.size}) cannot both describe one log`,
          });
        }
      } else {
        results[p.position] = {
          position: p.position,
          status: "root_mismatch",
          checkpoint: p.checkpoint,
        };
        problems.push({
          kind: "root_mismatch",
          checkpoint: p.position,
          message: `root hash at size ${range.size} is ${toHex(root)}, checkpoint ${p.position} says ${toHex(p.checkpoint.rootHash)}`,
        });
        if (firstMismatch === null) {
          firstMismatch = p;
          const below = matched.filter((m) => m.checkpoint.size < p.checkpoint.size);
          bad.window = [below.at(-1)?.checkpoint.size ?? 0, p.checkpoint.size];
        }
        if (matched.length > 0 && matched.at(-1)!.checkpoint.size === p.checkpoint.size) {
          problems.push({
            kind: "inconsistent_checkpoints",
            checkpoint: p.position,
            message: `checkpoints ${matched.at(-1)!.position} and ${p.position} give size ${p.checkpoint.size} two root hashes`,
          });
        }
      }
    }
  };

  checkAt(emptyRoot());
  let expected = 0;
  for await (const entry of input.entries) {
    const index = entry.index;
    const { data, leafHash: stored } = entry;
    const storedOk = stored === undefined || stored.length === HASH_SIZE;
    if (!Number.isSafeInteger(index) || (data === undefined && stored === undefined) || !storedOk) {
      problems.push({
        kind: "malformed_entry",
        index: expected,
        message: `row after index ${expected - 1} is malformed`,
      });
      markExact(expected);
      continue;
    }
    if (index < expected) {
      problems.push({
        kind: "duplicate_entry",
        index,
        message: `index ${index} appears again after ${expected - 1}`,
      });
      markExact(index);
      continue;
    }
    if (index > expected) {
      problems.push({
        kind: "missing_entry",
        index: expected,
        message: `entries ${expected}..${index - 1} are missing`,
      });
      markExact(expected);
    }
    expected = index + 1;
    const leaf = data === undefined ? stored! : leafHash(data);
    if (data !== undefined && stored !== undefined && !hashEquals(leaf, stored)) {
      problems.push({
        kind: "leaf_hash_mismatch",
        index,
        message: `entry ${index} does not hash to its stored leaf hash`,
      });
      markExact(index);
    }
    if (data !== undefined && input.requireCanonical && !isCanonicalJson(data)) {
      problems.push({
        kind: "non_canonical_entry",
        index,
        message: `entry ${index} is not canonical JSON`,
      });
      markExact(index);
    }
    range.append(leaf);
    if (next < pending.length && pending[next]!.checkpoint.size === range.size)
      checkAt(range.root());
  }

  for (; next < pending.length; next++) {
    const p = pending[next]!;
    results[p.position] = { position: p.position, status: "beyond_log", checkpoint: p.checkpoint };
    problems.push({
      kind: "truncated",
      checkpoint: p.position,
      index: range.size,
      message: `checkpoint ${p.position} commits to ${p.checkpoint.size} entries, the log has ${range.size}`,
    });
    markExact(range.size);
  }

  // An exact finding before the end of the first failing window explains it; otherwise the
  // change can be anywhere in the window, so its start is the first entry not proven good.
  const { exact, window } = bad;
  const firstBadEntryExact = exact !== null && (window === null || exact < window[1]);
  const firstBadEntry = firstBadEntryExact ? exact : (window?.[0] ?? null);
  const limit = Math.min(
    exact ?? Number.POSITIVE_INFINITY,
    window?.[0] ?? Number.POSITIVE_INFINITY,
  );
  const verifiedSize = matched.reduce(
    (best, p) => (p.checkpoint.size <= limit ? Math.max(best, p.checkpoint.size) : best),
    0,
  );
  return {
    ok: problems.length === 0,
    size: range.size,
    rootHash: range.root(),
    verifiedSize,
    firstBadEntry,
    firstBadEntryExact,
    checkpoints: results,
    problems,
  };
}
