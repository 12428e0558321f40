import { and, eq, inArray, lte, sql } from "drizzle-orm";
import { type Db, withDatabase } from "../db/index.js";
import { reviewDecisions } from "../db/schema.js";
import { generationJobs, generationOutputs, idempotencyKeys } from "../db/schema-jobs.js";
import type { OutputStore } from "../outputs/index.js";

/** What one maintenance pass removed. */
export interface MaintenanceReport {
  outputs: number;
  idempotencyKeys: number;
  /** Webhooks queued for reviewers' decisions on holds. */
  reviewWebhooks?: number;
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

/**
 * Holds a reviewer has decided whose receiver is still to be told: each is claimed (webhook
 * state held → review_queued) so that one process queues its webhook. Also deletes the kept
 * images of upheld holds (the decision itself deletes them; this catches a crash in between).
 */
export async function claimDecidedHolds(db: Db): Promise<Array<{ id: string; decision: string }>> {
  return withDatabase(async () => {
    await db
      .delete(generationOutputs)
      .where(
        inArray(
          generationOutputs.generationId,
          db
            .select({ id: reviewDecisions.generationId })
            .from(reviewDecisions)
            .where(eq(reviewDecisions.decision, "uphold")),
        ),
      );
    const decided = await db
      .select({ id: generationJobs.id, decision: reviewDecisions.decision })
      .from(generationJobs)
      .innerJoin(reviewDecisions, eq(reviewDecisions.generationId, generationJobs.id))
      .where(eq(generationJobs.webhookState, "held"))
      .limit(100);
    const claimed: Array<{ id: string; decision: string }> = [];
    for (const row of decided) {
      const updated = await db
        .update(generationJobs)
        .set({ webhookState: "review_queued", updatedAt: sql`now()` })
        .where(and(eq(generationJobs.id, row.id), eq(generationJobs.webhookState, "held")))
        .returning({ id: generationJobs.id });
      if (updated.length === 1) claimed.push(row);
    }
    return claimed;
  });
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
