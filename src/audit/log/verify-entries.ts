import {
  type LogEntryInput,
  type LogProblem,
  type NoteVerifier,
  type VerifyLogReport,
  verifyLog,
} from "../tlog/index.js";
import { parseEnvelope, payloadHash } from "./entry.js";

/**
 * Whole-log verification of the audit log, wherever its rows come from (the database or
 * GET /v1/log/entries): the tree and checkpoints by `verifyLog` (docs/audit-log.md §6), plus
 * the checks that belong to Hallmark's envelope (§8): every entry bytes is an envelope of the
 * kind its row says, every payload matches its salted hash, and every missing payload was
 * removed by a tombstone that comes after it.
 */

/** A row as read, before verification. */
export interface EntryRow {
  index: number;
  kind: string;
  entry: Uint8Array;
  leafHash?: Uint8Array;
  payload?: { salt: Uint8Array; bytes: Uint8Array };
}

export type EntryProblemKind =
  | "malformed_envelope"
  | "kind_mismatch"
  | "payload_mismatch"
  | "payload_missing"
  | "bad_tombstone"
  | "node_mismatch"
  | "proof_failed";

export interface EntryProblem {
  kind: EntryProblemKind;
  message: string;
  index?: number;
}

/** `verifyLog`'s report, with the envelope checks folded into `ok`, `problems` and `firstBadEntry`. */
export interface AuditVerifyReport extends Omit<VerifyLogReport, "problems"> {
  problems: Array<LogProblem | EntryProblem>;
}

export interface VerifyRowsInput {
  rows: AsyncIterable<EntryRow>;
  checkpoints: readonly string[];
  verifiers: readonly NoteVerifier[];
  origin: string;
}

/** Checks envelopes and payloads as rows stream into `verifyLog`. */
export class EnvelopeChecker {
  readonly problems: EntryProblem[] = [];
  readonly #missing: number[] = [];
  readonly #redacted = new Set<number>();

  /** Checks one row; returns what `verifyLog` reads of it. */
  check(row: EntryRow): LogEntryInput {
    const { index } = row;
    const envelope = parseEnvelope(row.entry);
    if (envelope === null) {
      this.problems.push({
        kind: "malformed_envelope",
        index,
        message: `entry ${index} is not an envelope`,
      });
    } else if (envelope.kind !== row.kind) {
      this.problems.push({
        kind: "kind_mismatch",
        index,
        message: `entry ${index} is a ${envelope.kind}, its row says ${row.kind}`,
      });
    } else if (envelope.kind === "tombstone") {
      const target = envelope.redacts!;
      if (target >= index || row.payload !== undefined) {
        this.problems.push({
          kind: "bad_tombstone",
          index,
          message: `tombstone ${index} is malformed`,
        });
      } else {
        this.#redacted.add(target);
      }
    } else if (row.payload === undefined) {
      this.#missing.push(index);
    } else if (payloadHash(row.payload.salt, row.payload.bytes) !== envelope.payloadHash) {
      this.problems.push({
        kind: "payload_mismatch",
        index,
        message: `the payload of entry ${index} does not match its hash`,
      });
    }
    return { index, data: row.entry, ...(row.leafHash ? { leafHash: row.leafHash } : {}) };
  }

  /** After the last row: payloads missing without a tombstone. */
  finish(): EntryProblem[] {
    for (const index of this.#missing) {
      if (!this.#redacted.has(index)) {
        this.problems.push({
          kind: "payload_missing",
          index,
          message: `the payload of entry ${index} is gone without a tombstone`,
        });
      }
    }
    return this.problems;
  }
}

/** Merges envelope problems into a `verifyLog` report (the first bad entry is the earliest). */
export function mergeReport(
  report: VerifyLogReport,
  extra: readonly EntryProblem[],
): AuditVerifyReport {
  const indexed = extra.filter((p) => p.index !== undefined).map((p) => p.index!);
  const firstExtra = indexed.length > 0 ? Math.min(...indexed) : null;
  let { firstBadEntry, firstBadEntryExact, verifiedSize } = report;
  if (firstExtra !== null && (firstBadEntry === null || firstExtra < firstBadEntry)) {
    firstBadEntry = firstExtra;
    firstBadEntryExact = true;
  }
  if (firstExtra !== null) {
    const good = report.checkpoints
      .filter((c) => c.status === "verified" && c.checkpoint!.size <= firstExtra)
      .map((c) => c.checkpoint!.size);
    verifiedSize = Math.min(verifiedSize, Math.max(0, ...good));
  }
  return {
    ...report,
    ok: report.ok && extra.length === 0,
    firstBadEntry,
    firstBadEntryExact,
    verifiedSize,
    problems: [...report.problems, ...extra],
  };
}

/** Verifies rows against checkpoints: tree, signatures, consistency, envelopes and payloads. */
export async function verifyRows(
  input: VerifyRowsInput,
  onRow?: (row: EntryRow) => void,
): Promise<AuditVerifyReport> {
  const checker = new EnvelopeChecker();
  async function* entries(): AsyncIterable<LogEntryInput> {
    for await (const row of input.rows) {
      onRow?.(row);
      yield checker.check(row);
    }
  }
  const report = await verifyLog({
    entries: entries(),
    checkpoints: input.checkpoints,
    verifiers: input.verifiers,
    origin: input.origin,
    requireCanonical: true,
  });
  return mergeReport(report, checker.finish());
}
