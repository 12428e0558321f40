import { eq } from "drizzle-orm";
import { findGeneration } from "../audit/index.js";
import { type Db, withDatabase } from "../db/index.js";
import { reviewDecisions } from "../db/schema.js";
import { generationJobs } from "../db/schema-jobs.js";
import { HallmarkError } from "../errors/index.js";
import type { OutputStore } from "../outputs/index.js";
import type { Principal } from "../tenants/index.js";
import { HELD_FOR_REVIEW } from "./finish.js";

/**
 * Where a generation stands, as its owner sees it: `queued` / `running` (an async job not yet
 * recorded), `held` (waiting for a reviewer), or the recorded outcome `completed`, `refused`,
 * `failed`. A held generation a reviewer approved is `completed`; one upheld is `refused`.
 */
export type GenerationStatus = "queued" | "running" | "held" | "completed" | "refused" | "failed";

/** The status of a recorded generation, after any review decision on a hold. */
export function recordedStatus(
  status: string,
  errorCode: string | null,
  review: string | null,
): GenerationStatus {
  if (errorCode === HELD_FOR_REVIEW) {
    if (review === "approve") return "completed";
    if (review === "uphold") return "refused";
    return "held";
  }
  return status === "completed" || status === "refused" ? status : "failed";
}

/**
 * A generation as its owner sees it: the audit record, its status, and (when its images were
 * kept for later delivery: async, released holds, idempotent requests) `data[].b64_json`.
 * Another tenant's generation is `not_found`, not forbidden: ids must not be confirmable across
 * tenants. A queued or running async job has only its id, status and creation time.
 */
export async function getGeneration(
  db: Db,
  principal: Principal,
  id: string,
  outputs?: OutputStore,
) {
  const valid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
  const found = valid ? await findGeneration(db, id) : null;
  if (!found) {
    const job = valid ? await findJob(db, id) : null;
    if (!job || job.tenantId !== principal.tenantId) {
      throw new HallmarkError("not_found", `No generation ${id}.`, { param: "id" });
    }
    return {
      id: job.id,
      created_at: job.createdAt.toISOString(),
      status: (job.state === "failed"
        ? "failed"
        : job.state === "queued"
          ? "queued"
          : "running") as GenerationStatus,
      error_code: job.errorCode,
    };
  }
  if (found.generation.tenantId !== principal.tenantId) {
    throw new HallmarkError("not_found", `No generation ${id}.`, { param: "id" });
  }
  const g = found.generation;
  const review =
    g.errorCode === HELD_FOR_REVIEW
      ? await withDatabase(async () => {
          const [row] = await db
            .select({ decision: reviewDecisions.decision })
            .from(reviewDecisions)
            .where(eq(reviewDecisions.generationId, id));
          return row?.decision ?? null;
        })
      : null;
  const status = recordedStatus(g.status, g.errorCode, review);
  const stored = status === "completed" && outputs ? await outputs.get(db, id) : null;
  return {
    id: g.id,
    created_at: g.createdAt.toISOString(),
    kind: g.kind,
    status,
    user: g.endUser,
    prompt: g.prompt,
    prompt_sha256: g.promptSha256,
    prompt_retention: g.promptRetention,
    params: g.params,
    model: g.model,
    backend: g.backend,
    action: g.action,
    decision: g.decision,
    stages: g.stages,
    error_code: g.errorCode,
    log_index: g.logIndex,
    images: found.images.map((i) => ({
      index: i.index,
      sha256: i.sha256,
      media_type: i.mediaType,
      width: i.width,
      height: i.height,
      bytes: i.bytes,
      seed: i.seed,
      marks: i.marks,
    })),
    ...(stored ? { data: stored.map((i) => ({ b64_json: i.bytes.toString("base64") })) } : {}),
  };
}

async function findJob(db: Db, id: string) {
  return withDatabase(async () => {
    const [row] = await db.select().from(generationJobs).where(eq(generationJobs.id, id));
    return row ?? null;
  });
}
