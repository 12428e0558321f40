import { createHash, randomUUID } from "node:crypto";
import canonicalize from "canonicalize";
import { and, eq, getTableColumns, sql } from "drizzle-orm";
import { type Db, withDatabase } from "../../db/index.js";
import { idempotencyKeys } from "../../db/schema-jobs.js";

/** What a completed key replays: the first response, without image bytes. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  /** The JSON body; `data[].b64_json` are null when `imagesFrom` is set. */
  body: unknown;
  /** The generation whose stored outputs fill `data[].b64_json` on replay. */
  imagesFrom?: string;
}

export type IdempotencyRow = typeof idempotencyKeys.$inferSelect;

/** A held key: its row and the exact lock time (as PostgreSQL text, microseconds intact). */
export interface HeldKey {
  row: IdempotencyRow;
  lock: string;
  /** True when this request took the key over from one presumed dead (same request). */
  takenOver: boolean;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The request's fingerprint: method, path and the body in a form that does not depend on how the
 * client serialised it. JSON bodies are RFC 8785 canonical JSON (key order and spacing do not
 * matter); multipart bodies are their fields in order with each file's SHA-256 (the boundary
 * does not matter); anything else is its bytes.
 */
export async function requestFingerprint(
  method: string,
  path: string,
  contentType: string | undefined,
  body: ArrayBuffer,
): Promise<string> {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  let canonical: string | Uint8Array = new Uint8Array(body);
  if (type === "application/json") {
    try {
      canonical = `json:${canonicalize(JSON.parse(Buffer.from(body).toString("utf8"))) ?? ""}`;
    } catch {
      // Not JSON: the bytes themselves (the route will answer 400 the same way each time).
    }
  } else if (type === "multipart/form-data") {
    try {
      const form = await new Response(body, {
        headers: { "content-type": contentType! },
      }).formData();
      const fields: unknown[] = [];
      for (const [name, value] of form as unknown as Iterable<
        [string, string | (Blob & { name: string })]
      >) {
        fields.push(
          typeof value === "string"
            ? [name, value]
            : [name, value.name, value.type, sha256Hex(new Uint8Array(await value.arrayBuffer()))],
        );
      }
      canonical = `multipart:${JSON.stringify(fields)}`;
    } catch {
      // Unparseable: the bytes themselves.
    }
  }
  return sha256Hex(
    Buffer.concat([
      Buffer.from(`${method.toUpperCase()} ${path}\n`),
      Buffer.from(typeof canonical === "string" ? Buffer.from(canonical) : canonical),
    ]),
  );
}

/**
 * Claims a key for this request, atomically across replicas: INSERT … ON CONFLICT DO UPDATE
 * that only updates an expired row, or an in-progress row of the same request whose holder
 * started more than `takeoverAfterSeconds` ago (it crashed or hung). Returns the row when this
 * request now holds the key (a takeover keeps the earlier generation id, so the caller can see
 * whether that attempt already recorded it), or null when another request holds or completed it.
 */
export async function claimKey(
  db: Db,
  input: {
    tenantId: string;
    keyHash: string;
    requestHash: string;
    ttlHours: number;
    takeoverAfterSeconds: number;
  },
): Promise<HeldKey | null> {
  const generationId = randomUUID();
  const expires = sql`now() + make_interval(hours => ${input.ttlHours}::int)`;
  return withDatabase(async () => {
    const rows = await db
      .insert(idempotencyKeys)
      .values({
        tenantId: input.tenantId,
        keyHash: input.keyHash,
        requestHash: input.requestHash,
        state: "in_progress",
        generationId,
        expiresAt: expires as unknown as Date,
      })
      .onConflictDoUpdate({
        target: [idempotencyKeys.tenantId, idempotencyKeys.keyHash],
        set: {
          requestHash: sql`excluded.request_hash`,
          state: "in_progress",
          lockedAt: sql`now()`,
          // An expired key starts afresh; a taken-over one keeps the generation id it promised.
          generationId: sql`case when ${idempotencyKeys.expiresAt} <= now()
            then excluded.generation_id else ${idempotencyKeys.generationId} end`,
          response: sql`null`,
          createdAt: sql`case when ${idempotencyKeys.expiresAt} <= now()
            then now() else ${idempotencyKeys.createdAt} end`,
          expiresAt: sql`case when ${idempotencyKeys.expiresAt} <= now()
            then excluded.expires_at else ${idempotencyKeys.expiresAt} end`,
        },
        setWhere: sql`${idempotencyKeys.expiresAt} <= now()
          or (${idempotencyKeys.state} = 'in_progress'
            and ${idempotencyKeys.requestHash} = excluded.request_hash
            and ${idempotencyKeys.lockedAt}
              < now() - make_interval(secs => ${input.takeoverAfterSeconds}::double precision))`,
      })
      .returning({
        ...getTableColumns(idempotencyKeys),
        lock: sql<string>`${idempotencyKeys.lockedAt}::text`,
      });
    const first = rows[0];
    if (!first) return null;
    const { lock, ...row } = first;
    return { row, lock, takenOver: row.generationId !== generationId };
  });
}

/** The key's row as it stands (unexpired), or null. */
export async function findKey(
  db: Db,
  tenantId: string,
  keyHash: string,
): Promise<IdempotencyRow | null> {
  return withDatabase(async () => {
    const [row] = await db
      .select()
      .from(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.tenantId, tenantId),
          eq(idempotencyKeys.keyHash, keyHash),
          sql`${idempotencyKeys.expiresAt} > now()`,
        ),
      );
    return row ?? null;
  });
}

/** Stores the response to replay; only while this request still holds the key (same lock time). */
export async function completeKey(db: Db, held: HeldKey, response: StoredResponse): Promise<void> {
  await withDatabase(() =>
    db
      .update(idempotencyKeys)
      .set({ state: "completed", response })
      .where(
        and(
          eq(idempotencyKeys.tenantId, held.row.tenantId),
          eq(idempotencyKeys.keyHash, held.row.keyHash),
          sql`${idempotencyKeys.lockedAt} = ${held.lock}::timestamptz`,
        ),
      ),
  );
}

/** Forgets a key whose request produced nothing to replay (a 5xx, 429): a retry runs afresh. */
export async function releaseKey(db: Db, held: HeldKey): Promise<void> {
  await withDatabase(() =>
    db
      .delete(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.tenantId, held.row.tenantId),
          eq(idempotencyKeys.keyHash, held.row.keyHash),
          sql`${idempotencyKeys.lockedAt} = ${held.lock}::timestamptz`,
        ),
      ),
  );
}
