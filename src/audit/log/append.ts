import { and, eq, gte, lt, sql } from "drizzle-orm";
import type { Db } from "../../db/index.js";
import { auditLogEntries, auditLogNodes } from "../../db/schema-audit.js";
import { HallmarkError } from "../../errors/index.js";
import { nodeHash, rootHash, toHex } from "../tlog/index.js";
import { type AuditEntryInput, type PreparedEntry, prepareEntry } from "./entry.js";
import { asBuffer, resultRows, SEQUENCER_LOCK_KEY, toBytes, toIndex } from "./sql.js";
import { inTransaction, isTransaction } from "./transaction.js";

/**
 * The sequencer: gives each entry the next log index, inside the caller's transaction.
 * One appender at a time across every process on the database, by a transaction-scoped
 * advisory lock (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS):
 * the lock is held until the caller commits or rolls back, so committed indices always form
 * a prefix 0..n−1 without gaps, and an entry commits together with the rows it describes.
 */

/** Lowest level of the stored perfect subtree hashes (one node per 2^8 = 256 entries). */
export const STORED_NODE_LEVEL = 8;

/** What an append returns: the entry's log index and `leaf hash` (hex). */
export interface AppendedEntry {
  index: number;
  leafHash: string;
}

/**
 * Appends an entry to the audit log and returns its log index. Pass the caller's
 * transaction so the entry commits with the rows it describes (or not at all); given the
 * plain database handle, it runs in a transaction of its own. The transaction must run at
 * READ COMMITTED (PostgreSQL's default): the tip is read after the lock is taken.
 * Cost: two statements (lock, insert), plus a few more once every 256 entries to store the
 * completed subtree hashes.
 *
 * @example
 * await db.transaction(async (tx) => {
 *   const { index } = await appendEntry(tx, { kind: "generation", generationId: id, payload });
 *   await tx.insert(generations).values({ ...row, logIndex: index });
 * });
 */
export async function appendEntry(tx: Db, entry: AuditEntryInput): Promise<AppendedEntry> {
  return appendPrepared(tx, prepareEntry(entry));
}

/**
 * Takes the sequencer lock in the caller's transaction and returns the index the next append
 * in that transaction will get. Lets a caller put the index into what it is about to record
 * (a C2PA manifest) before the entry exists: nobody else can append until the commit.
 */
export async function reserveNextIndex(tx: Db): Promise<number> {
  if (!isTransaction(tx)) {
    throw new HallmarkError("internal_error", "reserveNextIndex needs a transaction");
  }
  await tx.execute(sql`select pg_advisory_xact_lock(${SEQUENCER_LOCK_KEY})`);
  const rows = resultRows(
    await tx.execute(sql`select coalesce(max(index), -1) + 1 as next from audit_log_entries`),
  );
  return toIndex(rows[0]?.next);
}

/** Appends an already prepared entry (entries and tombstones). */
export async function appendPrepared(tx: Db, entry: PreparedEntry): Promise<AppendedEntry> {
  if (!isTransaction(tx)) return inTransaction(tx, (inner) => appendPrepared(inner, entry));
  await tx.execute(sql`select pg_advisory_xact_lock(${SEQUENCER_LOCK_KEY})`);
  const insertEntry = sql`insert into audit_log_entries
      (index, kind, generation_id, redacts_index, entry, leaf_hash, created_at)
    select coalesce(max(index), -1) + 1, ${entry.kind}::text, ${entry.generationId}::uuid,
      ${entry.redactsIndex}::bigint, ${asBuffer(entry.bytes)}::bytea,
      ${asBuffer(entry.leafHash)}::bytea, ${entry.time.toISOString()}::timestamptz
    from audit_log_entries
    returning index`;
  const statement =
    entry.payload === null
      ? insertEntry
      : sql`with e as (${insertEntry})
          insert into audit_log_payloads (index, salt, payload)
          select index, ${asBuffer(entry.payload.salt)}::bytea, ${asBuffer(entry.payload.bytes)}::bytea
          from e returning index`;
  const rows = resultRows(await tx.execute(statement));
  const index = toIndex(rows[0]?.index);
  await storeCompletedNodes(tx, index + 1, entry.leafHash);
  return { index, leafHash: toHex(entry.leafHash) };
}

/**
 * Appends several entries in one go (the group-commit recorder): one lock, one insert for the
 * entries and one for their payloads, in the order given, at consecutive indices from the tip.
 * Same guarantees as `appendEntry`, a few statements per batch instead of per entry.
 */
export async function appendEntries(tx: Db, inputs: AuditEntryInput[]): Promise<AppendedEntry[]> {
  if (inputs.length === 0) return [];
  if (!isTransaction(tx)) return inTransaction(tx, (inner) => appendEntries(inner, inputs));
  const entries = inputs.map((input) => prepareEntry(input));
  const first = await reserveNextIndex(tx);
  await tx.execute(sql`insert into audit_log_entries
      (index, kind, generation_id, redacts_index, entry, leaf_hash, created_at)
    values ${sql.join(
      entries.map(
        (e, i) =>
          sql`(${first + i}, ${e.kind}::text, ${e.generationId}::uuid, ${e.redactsIndex}::bigint,
            ${asBuffer(e.bytes)}::bytea, ${asBuffer(e.leafHash)}::bytea,
            ${e.time.toISOString()}::timestamptz)`,
      ),
      sql`, `,
    )}`);
  const payloads = entries.flatMap((e, i) =>
    e.payload
      ? [
          sql`(${first + i}, ${asBuffer(e.payload.salt)}::bytea, ${asBuffer(e.payload.bytes)}::bytea)`,
        ]
      : [],
  );
  if (payloads.length > 0) {
    await tx.execute(
      sql`insert into audit_log_payloads (index, salt, payload) values ${sql.join(payloads, sql`, `)}`,
    );
  }
  for (const [i, e] of entries.entries()) await storeCompletedNodes(tx, first + i + 1, e.leafHash);
  return entries.map((e, i) => ({ index: first + i, leafHash: toHex(e.leafHash) }));
}

/**
 * When the tree has just reached `size` leaves and that completes perfect subtrees of level
 * ≥ 8, stores their hashes (what `CompactRange.append` would report for those levels).
 */
async function storeCompletedNodes(tx: Db, size: number, last: Uint8Array): Promise<void> {
  const width = 2 ** STORED_NODE_LEVEL;
  if (size % width !== 0) return;
  const rows = await tx
    .select({ leafHash: auditLogEntries.leafHash })
    .from(auditLogEntries)
    .where(and(gte(auditLogEntries.index, size - width), lt(auditLogEntries.index, size - 1)))
    .orderBy(auditLogEntries.index);
  if (rows.length !== width - 1) {
    throw new HallmarkError("internal_error", `audit log has a gap below index ${size - 1}`);
  }
  let hash = rootHash([...rows.map((r) => r.leafHash), last]);
  let level = STORED_NODE_LEVEL;
  let index = size / width - 1;
  const completed = [{ level, index, hash }];
  // Each odd index closes its parent with the (already stored) left sibling.
  while (index % 2 === 1) {
    hash = nodeHash(await storedNode(tx, level, index - 1), hash);
    level += 1;
    index = (index - 1) / 2;
    completed.push({ level, index, hash });
  }
  await tx.insert(auditLogNodes).values(completed);
}

/** A stored node, recomputed from its children (or leaves) if it is missing. */
async function storedNode(tx: Db, level: number, index: number): Promise<Uint8Array> {
  const [row] = await tx
    .select({ hash: auditLogNodes.hash })
    .from(auditLogNodes)
    .where(and(eq(auditLogNodes.level, level), eq(auditLogNodes.index, index)));
  if (row) return row.hash;
  if (level > STORED_NODE_LEVEL) {
    return nodeHash(
      await storedNode(tx, level - 1, 2 * index),
      await storedNode(tx, level - 1, 2 * index + 1),
    );
  }
  const width = 2 ** level;
  const leaves = resultRows(
    await tx.execute(
      sql`select leaf_hash from audit_log_entries where index >= ${index * width} and index < ${(index + 1) * width} order by index`,
    ),
  ).map((r) => toBytes(r.leaf_hash));
  if (leaves.length !== width) throw new HallmarkError("internal_error", "audit log has a gap");
  return rootHash(leaves);
}
