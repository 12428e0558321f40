import { eq } from "drizzle-orm";
import { appendEntry } from "../audit/log/index.js";
import type { Db } from "../db/index.js";
import { withDatabase } from "../db/index.js";
import { generations, images, reviewDecisions, tenants } from "../db/schema.js";
import { generationOutputs } from "../db/schema-jobs.js";
import { HallmarkError } from "../errors/index.js";

/** A reviewer's verdict on a held request: approve (release) or uphold (keep refused). */
export const REVIEW_DECISIONS = ["approve", "uphold"] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];
/** Longest note a reviewer may write, in characters. */
export const MAX_NOTE_LENGTH = 2000;

/**
 * Records a decision on a held request: a `review` entry in the audit log and a
 * review_decisions row, in one transaction. The sequencer's lock (taken by `appendEntry`)
 * serialises the "already decided?" check, so two reviewers cannot both decide one request.
 *
 * @example await recordReview(db, { generationId, reviewerKeyId, decision: "uphold", note: "" })
 */
export async function recordReview(
  db: Db,
  input: { generationId: string; reviewerKeyId: string; decision: ReviewDecision; note: string },
): Promise<{ logIndex: number }> {
  return withDatabase(() =>
    db.transaction(async (tx) => {
      const [g] = await tx
        .select({ id: generations.id, status: generations.status, action: generations.action })
        .from(generations)
        .where(eq(generations.id, input.generationId));
      if (!g) throw new HallmarkError("not_found", `No generation ${input.generationId}.`);
      if (g.status !== "refused" || g.action !== "review") {
        throw new HallmarkError("invalid_request_error", "Only held requests can be decided.", {
          param: "decision",
        });
      }
      const time = new Date();
      const { index } = await appendEntry(tx, {
        kind: "review",
        generationId: input.generationId,
        payload: {
          decision: input.decision,
          note: input.note,
          reviewerKeyId: input.reviewerKeyId,
        },
        attributes: { decision: input.decision },
        time,
      });
      const [done] = await tx
        .select({ id: reviewDecisions.id })
        .from(reviewDecisions)
        .where(eq(reviewDecisions.generationId, input.generationId));
      if (done) {
        throw new HallmarkError("invalid_request_error", "This request was already decided.", {
          param: "decision",
        });
      }
      await tx.insert(reviewDecisions).values({
        generationId: input.generationId,
        reviewerKeyId: input.reviewerKeyId,
        decision: input.decision,
        note: input.note,
        createdAt: time,
        logIndex: index,
      });
      // An upheld hold's kept images are discarded with the decision (docs/async.md).
      if (input.decision === "uphold") {
        await tx
          .delete(generationOutputs)
          .where(eq(generationOutputs.generationId, input.generationId));
      }
      return { logIndex: index };
    }),
  );
}

/** Everything the item page shows about one generation, or null. */
export async function loadItem(db: Db, id: string) {
  const [row] = await db
    .select({ g: generations, tenant: tenants.name })
    .from(generations)
    .innerJoin(tenants, eq(generations.tenantId, tenants.id))
    .where(eq(generations.id, id));
  if (!row) return null;
  const imgs = await db
    .select({
      index: images.index,
      sha256: images.sha256,
      mediaType: images.mediaType,
      width: images.width,
      height: images.height,
      marks: images.marks,
      watermarkMarkId: images.watermarkMarkId,
      pdqHash: images.pdqHash,
      c2paLabel: images.c2paLabel,
    })
    .from(images)
    .where(eq(images.generationId, id))
    .orderBy(images.index);
  const [review] = await db
    .select()
    .from(reviewDecisions)
    .where(eq(reviewDecisions.generationId, id));
  return { ...row.g, tenant: row.tenant, images: imgs, review: review ?? null };
}
export type Item = NonNullable<Awaited<ReturnType<typeof loadItem>>>;
