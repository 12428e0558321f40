import { asc, desc, gt, sql } from "drizzle-orm";
import { type Db, withDatabase } from "../../db/index.js";
import { auditLogCheckpoints } from "../../db/schema-audit.js";
import { HallmarkError } from "../../errors/index.js";
import {
  consistencyProof,
  hashEquals,
  type NoteSigner,
  type NoteVerifier,
  openCheckpoint,
  rootHashAt,
  signCheckpoint,
  toBase64,
  verifyConsistency,
} from "../tlog/index.js";
import { databaseLeafSource } from "./leaf-source.js";
import { CHECKPOINT_LOCK_KEY, logSize, resultRows } from "./sql.js";

/**
 * Signed checkpoints (c2sp.org/tlog-checkpoint) over the audit tables: signing the current
 * tree, and reading what was signed. Wire form: docs/audit-log.md §8.
 */

/** A stored checkpoint, as served by GET /v1/log/checkpoint (JSON-able). */
export interface CheckpointRecord {
  /** The tree size. */
  size: number;
  /** Base64 root hash at that size. */
  rootHash: string;
  /** The whole signed note (C2SP checkpoint text and signature lines). */
  note: string;
  /** When it was signed (ISO 8601). */
  createdAt: string;
}

export interface SignCheckpointOptions {
  db: Db;
  /** The log's checkpoint key; its name must equal `origin`. */
  signer: NoteSigner;
  /**
   * The matching verifier: when given, the previous checkpoint's signature is checked before
   * the new one is made consistent with it.
   */
  verifier?: NoteVerifier;
  origin: string;
}

type CheckpointRow = typeof auditLogCheckpoints.$inferSelect;

function toRecord(row: CheckpointRow): CheckpointRecord {
  return {
    size: row.size,
    rootHash: toBase64(row.rootHash),
    note: row.note,
    createdAt: row.createdAt.toISOString(),
  };
}

function refuse(message: string, reason: string): HallmarkError {
  return new HallmarkError("audit_verification_failed", message, { details: { reason } });
}

/**
 * Signs a checkpoint of the whole log as it is committed now, stores it and returns it.
 * Returns the latest checkpoint unchanged when no entry was appended since; returns null when
 * another process is signing at this moment (one signer at a time, by advisory lock).
 * Refuses (`audit_verification_failed`) to sign a tree that is not consistent with the
 * previous checkpoint, or smaller than it: the database was changed under the log.
 */
export async function signCheckpointNow(
  options: SignCheckpointOptions,
): Promise<CheckpointRecord | null> {
  const { db, signer, verifier, origin } = options;
  if (signer.name !== origin) {
    throw new HallmarkError(
      "config_error",
      `the checkpoint key is named ${signer.name}, not ${origin}`,
      {
        param: "origin",
      },
    );
  }
  return withDatabase(() =>
    db.transaction(async (tx) => {
      const [locked] = resultRows(
        await tx.execute(sql`select pg_try_advisory_xact_lock(${CHECKPOINT_LOCK_KEY}) as locked`),
      );
      if (locked?.locked !== true) return null;
      const size = await logSize(tx);
      const [previous] = await tx
        .select()
        .from(auditLogCheckpoints)
        .orderBy(desc(auditLogCheckpoints.size))
        .limit(1);
      if (previous && previous.size === size) return toRecord(previous);
      if (previous && previous.size > size) {
        throw refuse(`the log has ${size} entries, checkpoint says ${previous.size}`, "truncated");
      }
      const source = databaseLeafSource(tx);
      const root = await rootHashAt(source, size);
      if (previous) {
        let previousRoot = previous.rootHash;
        if (verifier) previousRoot = openCheckpoint(previous.note, [verifier], origin).rootHash;
        const proof = await consistencyProof(source, previous.size, size);
        if (
          !hashEquals(previousRoot, previous.rootHash) ||
          !verifyConsistency(previous.size, size, proof, previousRoot, root)
        ) {
          throw refuse(
            `the log is not consistent with the checkpoint at size ${previous.size}`,
            "inconsistent",
          );
        }
      }
      const note = signCheckpoint({ origin, size, rootHash: root }, signer);
      const [row] = await tx
        .insert(auditLogCheckpoints)
        .values({ size, rootHash: root, note })
        .onConflictDoNothing()
        .returning();
      return row ? toRecord(row) : null;
    }),
  );
}

/** The newest checkpoint, or null when none was signed yet. */
export async function latestCheckpoint(db: Db): Promise<CheckpointRecord | null> {
  return withDatabase(async () => {
    const [row] = await db
      .select()
      .from(auditLogCheckpoints)
      .orderBy(desc(auditLogCheckpoints.size))
      .limit(1);
    return row ? toRecord(row) : null;
  });
}

/** Checkpoints with size above `after`, smallest first, at most `limit` of them. */
export async function listCheckpoints(
  db: Db,
  options: { after?: number; limit?: number } = {},
): Promise<CheckpointRecord[]> {
  const { after = -1, limit = 1000 } = options;
  return withDatabase(async () => {
    const rows = await db
      .select()
      .from(auditLogCheckpoints)
      .where(gt(auditLogCheckpoints.size, after))
      .orderBy(asc(auditLogCheckpoints.size))
      .limit(limit);
    return rows.map(toRecord);
  });
}
