import { and, asc, eq, gt, lte } from "drizzle-orm";
import { type Db, withDatabase } from "../db/index.js";
import { generationOutputs } from "../db/schema-jobs.js";
import type { OutputKey } from "./key.js";
import { seal, unseal } from "./seal.js";

/** One image to keep: its final (marked, signed) bytes. */
export interface StoredImage {
  index: number;
  mediaType: string;
  bytes: Buffer;
}

/**
 * The encrypted output store: images of generations delivered later (async jobs, review holds,
 * idempotent replays), sealed with AES-256-GCM under the output key and kept until `expiresAt`.
 */
export interface OutputStore {
  /** Seals and inserts the images (call it inside the transaction that records the generation). */
  put(tx: Db, generationId: string, images: StoredImage[], expiresAt: Date): Promise<void>;
  /** The images of a generation, unexpired, in index order; null when none are stored. */
  get(db: Db, generationId: string): Promise<StoredImage[] | null>;
  /** Deletes a generation's stored images (a rejected hold). Returns how many were deleted. */
  discard(db: Db, generationId: string): Promise<number>;
  /** Deletes every expired image. Returns how many were deleted. */
  purgeExpired(db: Db, now?: Date): Promise<number>;
  /** Which key seals new rows (its fingerprint). */
  readonly keyId: string;
}

/** Additional data: a sealed image opens only as this generation's image at this index. */
function aad(generationId: string, index: number): Buffer {
  return Buffer.from(`hallmark-output:${generationId}:${index}`);
}

/**
 * @example const store = createOutputStore(await loadOutputKey({ dataDir }));
 */
export function createOutputStore(key: OutputKey): OutputStore {
  return {
    keyId: key.keyId,
    async put(tx, generationId, images, expiresAt) {
      if (images.length === 0) return;
      await tx.insert(generationOutputs).values(
        images.map((image) => ({
          generationId,
          index: image.index,
          mediaType: image.mediaType,
          keyId: key.keyId,
          sealed: seal(key.key, aad(generationId, image.index), image.bytes),
          expiresAt,
        })),
      );
    },
    get: (db, generationId) =>
      withDatabase(async () => {
        const rows = await db
          .select()
          .from(generationOutputs)
          .where(
            and(
              eq(generationOutputs.generationId, generationId),
              gt(generationOutputs.expiresAt, new Date()),
            ),
          )
          .orderBy(asc(generationOutputs.index));
        if (rows.length === 0) return null;
        return rows.map((row) => ({
          index: row.index,
          mediaType: row.mediaType,
          bytes: unseal(key.key, aad(generationId, row.index), row.sealed),
        }));
      }),
    discard: (db, generationId) =>
      withDatabase(async () => {
        const rows = await db
          .delete(generationOutputs)
          .where(eq(generationOutputs.generationId, generationId))
          .returning({ index: generationOutputs.index });
        return rows.length;
      }),
    purgeExpired: (db, now = new Date()) =>
      withDatabase(async () => {
        const rows = await db
          .delete(generationOutputs)
          .where(lte(generationOutputs.expiresAt, now))
          .returning({ index: generationOutputs.index });
        return rows.length;
      }),
  };
}
