/**
 * The audit log's tables (src/audit/log), kept apart from schema.ts so the log can be read on
 * its own. All four are append-only: triggers written in the `audit_triggers` migration refuse
 * UPDATE, DELETE and TRUNCATE, except the one documented retention path (a payload row may be
 * deleted once a tombstone entry naming it exists). Formats: docs/audit-log.md §8.
 */
import {
  bigint,
  customType,
  index,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

/** PostgreSQL bytea as bytes (drizzle has no built-in bytea column). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => "bytea",
  toDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
  fromDriver: (v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength),
});

/**
 * One row per log entry. `entry` holds the entry bytes exactly as hashed (RFC 8785 canonical
 * JSON of the envelope); `leaf_hash` = SHA-256(0x00 || entry). The log index is the leaf
 * position in the Merkle tree: 0, 1, 2, … with no gaps, assigned by the sequencer.
 */
export const auditLogEntries = pgTable(
  "audit_log_entries",
  {
    index: bigint("index", { mode: "number" }).primaryKey(),
    /** generation | decision | review | tombstone (also inside the hashed envelope). */
    kind: text("kind").notNull(),
    /** The generation the entry is about, when it is about one (no foreign key: the log outlives rows). */
    generationId: uuid("generation_id"),
    /** For a tombstone: the index whose payload it removes. */
    redactsIndex: bigint("redacts_index", { mode: "number" }),
    /** The entry bytes (hashed). */
    entry: bytea("entry").notNull(),
    /** The RFC 6962 `leaf hash` of `entry` (32 bytes). */
    leafHash: bytea("leaf_hash").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("audit_log_entries_generation_idx").on(t.generationId),
    index("audit_log_entries_redacts_idx").on(t.redactsIndex),
  ],
);

/**
 * The payload of an entry, committed to by the entry's envelope as
 * SHA-256(salt || payload). Removed only by retention (after a tombstone entry), which leaves
 * the envelope, and so the tree, intact.
 */
export const auditLogPayloads = pgTable("audit_log_payloads", {
  index: bigint("index", { mode: "number" }).primaryKey(),
  /** 16 random bytes, so a removed low-entropy payload cannot be guessed from its commitment. */
  salt: bytea("salt").notNull(),
  /** RFC 8785 canonical JSON of the payload. */
  payload: bytea("payload").notNull(),
});

/**
 * Perfect subtree hashes at levels ≥ 8 (one row per 256 entries, plus their parents), written
 * by the sequencer when an append completes one, to serve proofs without rehashing leaves.
 * Node (level, index) covers leaves [index·2^level, (index+1)·2^level).
 */
export const auditLogNodes = pgTable(
  "audit_log_nodes",
  {
    level: smallint("level").notNull(),
    index: bigint("index", { mode: "number" }).notNull(),
    hash: bytea("hash").notNull(),
  },
  (t) => [primaryKey({ columns: [t.level, t.index] })],
);

/** Signed checkpoints (c2sp.org/tlog-checkpoint), one per tree size. */
export const auditLogCheckpoints = pgTable("audit_log_checkpoints", {
  size: bigint("size", { mode: "number" }).primaryKey(),
  rootHash: bytea("root_hash").notNull(),
  /** The whole signed note, text and signature lines. */
  note: text("note").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const auditSchema = {
  auditLogEntries,
  auditLogPayloads,
  auditLogNodes,
  auditLogCheckpoints,
};
