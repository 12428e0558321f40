import { eq } from "drizzle-orm";
import type { Db } from "../../db/index.js";
import { auditLogEntries, auditLogPayloads } from "../../db/schema-audit.js";
import { HallmarkError } from "../../errors/index.js";
import { type AppendedEntry, appendPrepared } from "./append.js";
import { prepareTombstone } from "./entry.js";
import { inTransaction } from "./transaction.js";

/** Longest tombstone reason kept (it stays in the log forever). */
export const MAX_REASON_LENGTH = 500;

/** What `tombstone` did: the tombstone entry appended, and the index whose payload went. */
export interface TombstoneResult extends AppendedEntry {
  redacts: number;
}

/**
 * Retention: removes the payload of entry `index` (and its salt) and appends a tombstone
 * entry `{"kind":"tombstone","redacts":index,"reason":…}` in the same transaction. The entry's
 * envelope stays, so its leaf hash, every proof and every checkpoint still verify; the
 * database trigger lets a payload row go only once such a tombstone exists. `reason` is kept
 * forever in the log: say why (e.g. "retention: 30 days"), never whose data it was.
 * Throws `invalid_request_error` (param `index`) for an unknown entry, a tombstone, or a
 * payload already removed; (param `reason`) for an empty or too long reason.
 *
 * @example await tombstone(db, 41, "retention: 30 days") // { index: 97, leafHash, redacts: 41 }
 */
export async function tombstone(db: Db, index: number, reason: string): Promise<TombstoneResult> {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new HallmarkError("invalid_request_error", "index must be a log index", {
      param: "index",
    });
  }
  const trimmed = reason.trim();
  if (trimmed === "" || trimmed.length > MAX_REASON_LENGTH || /\p{Cc}/u.test(trimmed)) {
    throw new HallmarkError(
      "invalid_request_error",
      `reason must be one line of 1 to ${MAX_REASON_LENGTH} characters`,
      { param: "reason" },
    );
  }
  return inTransaction(db, async (tx) => {
    const [entry] = await tx
      .select({ kind: auditLogEntries.kind })
      .from(auditLogEntries)
      .where(eq(auditLogEntries.index, index));
    const [payload] = await tx
      .select({ index: auditLogPayloads.index })
      .from(auditLogPayloads)
      .where(eq(auditLogPayloads.index, index));
    if (!entry || entry.kind === "tombstone" || !payload) {
      const why = !entry
        ? "no such entry"
        : entry.kind === "tombstone"
          ? "a tombstone has no payload"
          : "its payload was already removed";
      throw new HallmarkError(
        "invalid_request_error",
        `cannot remove the payload of entry ${index}: ${why}`,
        {
          param: "index",
        },
      );
    }
    const appended = await appendPrepared(tx, prepareTombstone(index, trimmed));
    await tx.delete(auditLogPayloads).where(eq(auditLogPayloads.index, index));
    return { ...appended, redacts: index };
  });
}
