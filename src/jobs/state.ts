import { and, eq, inArray, sql } from "drizzle-orm";
import { type Db, withDatabase } from "../db/index.js";
import { generations } from "../db/schema.js";
import { generationJobs } from "../db/schema-jobs.js";

export type JobRow = typeof generationJobs.$inferSelect;

export async function loadJob(db: Db, id: string): Promise<JobRow | null> {
  return withDatabase(async () => {
    const [row] = await db.select().from(generationJobs).where(eq(generationJobs.id, id));
    return row ?? null;
  });
}

/** The recorded outcome of a generation (status, action), or null when none is recorded. */
export async function recordedStatus(
  db: Db,
  id: string,
): Promise<{ status: string; action: string; errorCode: string | null } | null> {
  return withDatabase(async () => {
    const [row] = await db
      .select({
        status: generations.status,
        action: generations.action,
        errorCode: generations.errorCode,
      })
      .from(generations)
      .where(eq(generations.id, id));
    return row ?? null;
  });
}

/** queued → running; counts the attempt. False when the job is already past running. */
export async function markRunning(db: Db, id: string): Promise<boolean> {
  return withDatabase(async () => {
    const rows = await db
      .update(generationJobs)
      .set({
        state: "running",
        attempts: sql`${generationJobs.attempts} + 1`,
        updatedAt: sql`now()`,
      })
      .where(and(eq(generationJobs.id, id), inArray(generationJobs.state, ["queued", "running"])))
      .returning({ id: generationJobs.id });
    return rows.length === 1;
  });
}

/**
 * The outcome is recorded: clear the sealed request and say so. Returns the row when this call
 * made the transition (so exactly one caller sends the webhook), else null.
 */
export async function markRecorded(db: Db, id: string): Promise<JobRow | null> {
  return withDatabase(async () => {
    const [row] = await db
      .update(generationJobs)
      .set({ state: "recorded", request: null, updatedAt: sql`now()` })
      .where(and(eq(generationJobs.id, id), inArray(generationJobs.state, ["queued", "running"])))
      .returning();
    return row ?? null;
  });
}

/** The job failed before the pipeline could record anything (e.g. retries exhausted). */
export async function markFailed(db: Db, id: string, errorCode: string): Promise<void> {
  await withDatabase(() =>
    db
      .update(generationJobs)
      .set({ state: "failed", errorCode, request: null, updatedAt: sql`now()` })
      .where(and(eq(generationJobs.id, id), inArray(generationJobs.state, ["queued", "running"]))),
  );
}

/** The status a client sees for a recorded outcome before any review: held, or as recorded. */
export function outcomeStatus(recorded: { status: string; errorCode: string | null }): string {
  return recorded.errorCode === "held_for_review" ? "held" : recorded.status;
}

/**
 * pending (outcome webhook to send) → sent | failed; a held outcome's webhook leaves `held`
 * (a reviewer's decision is awaited), then review_queued → sent | failed.
 */
export type WebhookState = "pending" | "held" | "review_queued" | "sent" | "failed";

export async function setWebhookState(db: Db, id: string, state: WebhookState) {
  await withDatabase(() =>
    db
      .update(generationJobs)
      .set({ webhookState: state, updatedAt: sql`now()` })
      .where(eq(generationJobs.id, id)),
  );
}
