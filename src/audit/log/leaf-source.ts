import { and, eq, gte, lt } from "drizzle-orm";
import type { Db } from "../../db/index.js";
import { auditLogEntries, auditLogNodes } from "../../db/schema-audit.js";
import { HallmarkError } from "../../errors/index.js";
import type { LeafSource } from "../tlog/index.js";
import { STORED_NODE_LEVEL } from "./append.js";
import { logSize } from "./sql.js";

/**
 * A `LeafSource` over the audit tables: leaf hashes from `audit_log_entries`, perfect subtree
 * hashes of level ≥ 8 from `audit_log_nodes`. A proof or root hash then reads O(log n) nodes
 * and at most a few hundred leaf hashes. Proofs built from stored hashes are checked by the
 * client against a signed root, so a corrupted node makes a proof fail, never pass.
 */
export function databaseLeafSource(db: Db): LeafSource {
  return {
    size: () => logSize(db),
    async leafHashes(start, end) {
      if (end <= start) return [];
      const rows = await db
        .select({ leafHash: auditLogEntries.leafHash })
        .from(auditLogEntries)
        .where(and(gte(auditLogEntries.index, start), lt(auditLogEntries.index, end)))
        .orderBy(auditLogEntries.index);
      if (rows.length !== end - start) {
        throw new HallmarkError("internal_error", `audit log has a gap in [${start}, ${end})`);
      }
      return rows.map((r) => r.leafHash);
    },
    async perfectSubtreeHash(level, index) {
      if (level < STORED_NODE_LEVEL) return undefined;
      const [row] = await db
        .select({ hash: auditLogNodes.hash })
        .from(auditLogNodes)
        .where(and(eq(auditLogNodes.level, level), eq(auditLogNodes.index, index)));
      return row?.hash;
    },
  };
}
