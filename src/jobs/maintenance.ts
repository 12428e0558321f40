import { inArray, lte } from "drizzle-orm";
import { type Db, withDatabase } from "../db/index.js";
import { generationJobs, idempotencyKeys } from "../db/schema-jobs.js";
import type { OutputStore } from "../outputs/index.js";

/** What one maintenance pass removed. */
export interface MaintenanceReport {
  outputs: number;
  idempotencyKeys: number;
}

/**
 * Retention: deletes stored outputs and idempotency keys past their expiry. Reads already ignore
 * expired rows; this reclaims the space (and the sealed bytes) for good.
 */
export async function purgeExpired(
  db: Db,
  outputs: OutputStore,
  now = new Date(),
): Promise<MaintenanceReport> {
  const removedOutputs = await outputs.purgeExpired(db, now);
  const keys = await withDatabase(() =>
    db
      .delete(idempotencyKeys)
      .where(lte(idempotencyKeys.expiresAt, now))
      .returning({ keyHash: idempotencyKeys.keyHash }),
  );
  return { outputs: removedOutputs, idempotencyKeys: keys.length };
}

/** True when jobs wait to be run (a restart of the embedded database must resume them). */
export async function hasUnfinishedJobs(db: Db): Promise<boolean> {
  return withDatabase(async () => {
    const rows = await db
      .select({ id: generationJobs.id })
      .from(generationJobs)
      .where(inArray(generationJobs.state, ["queued", "running"]))
      .limit(1);
    return rows.length > 0;
  });
}
