import { randomInt } from "node:crypto";
import type { Db } from "../db/index.js";
import { withDatabase } from "../db/index.js";
import { generationJobs } from "../db/schema-jobs.js";
import type { OutputKey } from "../outputs/index.js";
import type { GenerationRequest } from "../pipeline/index.js";
import type { JobQueue } from "./boss.js";
import { sealRequest } from "./request.js";
import { markFailed } from "./state.js";

/**
 * Accepts an asynchronous generation: a `generation_jobs` row (request sealed, state queued)
 * and a pg-boss job with the same id. A second submission of the same id (an idempotent retry)
 * changes nothing. The caller answers 202 with the id.
 */
export async function submitGeneration(
  ctx: { db: Db; queue: JobQueue; key: OutputKey },
  input: { id: string; request: GenerationRequest; webhookUrl?: string },
): Promise<void> {
  const { db } = ctx;
  // Fixed now, so that a retried job asks the backend for the same image.
  const request = { ...input.request, seed: input.request.seed ?? randomInt(0, 2 ** 31 - 1) };
  await withDatabase(() =>
    db
      .insert(generationJobs)
      .values({
        id: input.id,
        tenantId: request.principal.tenantId,
        apiKeyId: request.principal.apiKeyId,
        mode: "async",
        state: "queued",
        request: sealRequest(ctx.key, input.id, { ...request, id: undefined }),
        webhookUrl: input.webhookUrl ?? null,
        webhookState: input.webhookUrl ? "pending" : null,
      })
      .onConflictDoNothing(),
  );
  try {
    await ctx.queue.sendGeneration(input.id);
  } catch (error) {
    await markFailed(db, input.id, "queue_unavailable").catch(() => {});
    throw error;
  }
}
