import { and, eq, sql } from "drizzle-orm";
import { appendEntry } from "../audit/log/index.js";
import type { Db } from "../db/index.js";
import { withDatabase } from "../db/index.js";
import { generations, images, reviewDecisions, tenants } from "../db/schema.js";
import { generationOutputs } from "../db/schema-jobs.js";
import { HallmarkError } from "../errors/index.js";
import { scopeCondition, type TenantScope } from "./search.js";

/**
 * A reviewer's verdict on a held or blocked request: approve (release a hold) or uphold (the
 * pages call it "reject": keep it refused, discard a hold's images).
 */
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
  input: {
    generationId: string;
    reviewerKeyId: string;
    decision: ReviewDecision;
    note: string;
    /** The reviewer account's username, recorded in the entry when the decision came from one. */
    reviewer?: string;
  },
): Promise<{ logIndex: number }> {
  return withDatabase(() =>
    db.transaction(async (tx) => {
      const [g] = await tx
        .select({ id: generations.id, status: generations.status, action: generations.action })
        .from(generations)
        .where(eq(generations.id, input.generationId));
      if (!g) throw new HallmarkError("not_found", `No generation ${input.generationId}.`);
      // Held (review) and blocked requests can be decided; approving a block records a false
      // positive (there is nothing to release), upholding it confirms the refusal.
      if (g.status !== "refused" || (g.action !== "review" && g.action !== "block")) {
        throw new HallmarkError(
          "invalid_request_error",
          "Only held or blocked requests can be decided.",
          { param: "decision" },
        );
      }
      const time = new Date();
      const { index } = await appendEntry(tx, {
        kind: "review",
        generationId: input.generationId,
        payload: {
          decision: input.decision,
          note: input.note,
          reviewerKeyId: input.reviewerKeyId,
          ...(input.reviewer ? { reviewer: input.reviewer } : {}),
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

/**
 * Everything the item page shows about one generation, or null (also when its tenant is outside
 * the reviewer's scope: the page then answers as for an unknown id).
 */
export async function loadItem(db: Db, id: string, scope: TenantScope = null) {
  const [row] = await db
    .select({ g: generations, tenant: tenants.name })
    .from(generations)
    .innerJoin(tenants, eq(generations.tenantId, tenants.id))
    .where(and(eq(generations.id, id), scopeCondition(scope)));
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
      c2paManifestBytes: sql<number | null>`octet_length(${images.c2paManifest})`,
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
