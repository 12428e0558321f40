import { sql } from "drizzle-orm";
import type { Db } from "../../db/index.js";

/**
 * Small helpers for the raw SQL the sequencer runs. `db.execute` answers `{ rows }` on PGlite
 * and an array on postgres.js; int8 comes back as a number on one and a string on the other.
 */

/** Fixed advisory-lock key of the audit log's sequencer ("HLOG"): one appender at a time. */
export const SEQUENCER_LOCK_KEY = 0x484c4f47;
/** Fixed advisory-lock key of the checkpoint signer ("HCKP"): one signer at a time. */
export const CHECKPOINT_LOCK_KEY = 0x48434b50;

/** The rows of a `db.execute` result, whichever driver produced it. */
export function resultRows(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return result as Record<string, unknown>[];
  return ((result as { rows?: unknown[] }).rows ?? []) as Record<string, unknown>[];
}

/** An int8 column value as a safe integer. */
export function toIndex(value: unknown): number {
  const n = typeof value === "bigint" ? Number(value) : Number(value);
  if (!Number.isSafeInteger(n)) throw new TypeError(`not a log index: ${String(value)}`);
  return n;
}

/** A bytea column value as bytes (Buffer on postgres.js, Uint8Array on PGlite). */
export function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array)
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError("not a bytea value");
}

/** Bytes as a Buffer, the parameter type both drivers send as bytea. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The number of entries in the log (its tree size): the highest index plus one. */
export async function logSize(db: Db): Promise<number> {
  const rows = resultRows(
    await db.execute(sql`select index from audit_log_entries order by index desc limit 1`),
  );
  return rows.length === 0 ? 0 : toIndex(rows[0]!.index) + 1;
}
