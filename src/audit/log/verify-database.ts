import { asc, gte } from "drizzle-orm";
import type { Db } from "../../db/index.js";
import { auditLogCheckpoints, auditLogNodes } from "../../db/schema-audit.js";
import { CompactRange, hashEquals, type NoteVerifier } from "../tlog/index.js";
import { STORED_NODE_LEVEL } from "./append.js";
import { readStoredEntries } from "./serve.js";
import { logSize } from "./sql.js";
import {
  type AuditVerifyReport,
  type EntryProblem,
  type EntryRow,
  verifyRows,
} from "./verify-entries.js";

export interface VerifyDatabaseOptions {
  /** The log's verifier keys (`createNoteVerifier(vkey)`): the auditor's, not the database's. */
  verifiers: readonly NoteVerifier[];
  origin: string;
  /** More signed checkpoints the auditor kept (e.g. from witnesses), checked like stored ones. */
  checkpoints?: readonly string[];
  /** Rows read per query (default 2000). */
  pageSize?: number;
}

/**
 * `hallmark audit verify` against the database: reads every entry in index order (paged),
 * recomputes the tree, checks every stored checkpoint's signature and root (and so their
 * consistency with one another), every envelope and payload, and that the stored subtree
 * hashes that proofs are served from match the tree. Memory: O(log n) for the tree plus the
 * checkpoints and one node per 256 entries.
 *
 * @example const report = await verifyDatabaseLog(db, { verifiers: [createNoteVerifier(vkey)], origin });
 */
export async function verifyDatabaseLog(
  db: Db,
  options: VerifyDatabaseOptions,
): Promise<AuditVerifyReport> {
  const pageSize = options.pageSize ?? 2000;
  const stored = await db.select({ note: auditLogCheckpoints.note }).from(auditLogCheckpoints);
  const size = await logSize(db);
  async function* rows(): AsyncIterable<EntryRow> {
    // Pages by index range up to the highest index, so missing rows show as gaps.
    for (let start = 0; start < size; start += pageSize) {
      yield* await readStoredEntries(db, start, Math.min(size, start + pageSize));
    }
  }
  // Recompute the stored nodes (level ≥ 8) from the stored leaf hashes, as proofs use them.
  const computed = new Map<string, Uint8Array>();
  const range = CompactRange.empty();
  let next = 0;
  const report = await verifyRows(
    {
      rows: rows(),
      checkpoints: [...stored.map((s) => s.note), ...(options.checkpoints ?? [])],
      verifiers: options.verifiers,
      origin: options.origin,
    },
    (row) => {
      if (row.index !== next || !row.leafHash) return; // gaps are reported by verifyLog
      next += 1;
      range.append(row.leafHash, (node) => {
        if (node.level >= STORED_NODE_LEVEL) computed.set(`${node.level}/${node.index}`, node.hash);
      });
    },
  );
  const nodeProblems: EntryProblem[] = [];
  const nodes = await db
    .select()
    .from(auditLogNodes)
    .where(gte(auditLogNodes.level, STORED_NODE_LEVEL))
    .orderBy(asc(auditLogNodes.level), asc(auditLogNodes.index));
  const seen = new Set<string>();
  for (const node of nodes) {
    const key = `${node.level}/${node.index}`;
    seen.add(key);
    const hash = computed.get(key);
    if (hash === undefined || !hashEquals(hash, node.hash)) {
      nodeProblems.push({
        kind: "node_mismatch",
        index: node.index * 2 ** node.level,
        message: `stored subtree hash ${key} does not match the entries`,
      });
    }
  }
  for (const key of computed.keys()) {
    if (!seen.has(key)) {
      const [level, index] = key.split("/").map(Number) as [number, number];
      nodeProblems.push({
        kind: "node_mismatch",
        index: index * 2 ** level,
        message: `subtree hash ${key} is not stored`,
      });
    }
  }
  return nodeProblems.length === 0 ? report : mergeNodeProblems(report, nodeProblems);
}

/** Node problems make the report fail but, unlike entry problems, do not move the first bad entry. */
function mergeNodeProblems(report: AuditVerifyReport, problems: EntryProblem[]): AuditVerifyReport {
  return { ...report, ok: false, problems: [...report.problems, ...problems] };
}
