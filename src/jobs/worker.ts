import type { Db } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import type { OutputKey, OutputStore } from "../outputs/index.js";
import { generateImages, type PipelineDeps } from "../pipeline/index.js";
import type { WebhookSender } from "../webhooks/index.js";
import type { JobMeta, JobQueue, WebhookJob } from "./boss.js";
import { openRequest } from "./request.js";
import {
  loadJob,
  markFailed,
  markRecorded,
  markRunning,
  outcomeStatus,
  recordedStatus,
  setWebhookState,
} from "./state.js";

export interface WorkerContext {
  db: Db;
  pipeline: PipelineDeps;
  queue: JobQueue;
  key: OutputKey;
  outputs: OutputStore;
  webhooks: WebhookSender;
  logger: Logger;
  publicUrl: string;
  /** How long results stay fetchable, and held results wait for a reviewer. */
  outputRetentionHours: number;
  holdRetentionHours: number;
  /** Aborted when the worker stops: running pipelines are cancelled (their jobs retried). */
  signal: AbortSignal;
}

/** The webhook event type for a recorded (or reviewed) outcome. */
export function eventType(status: string): string {
  return `generation.${status}`;
}

/**
 * Runs one generation job through the same pipeline as the synchronous route (screen, generate,
 * screen, watermark, sign, record). Exactly one audit record per job, however often it runs:
 * the generation id is the job's id and the generations primary key refuses a second record, so
 * an attempt that finds the outcome already recorded (by an attempt presumed dead that was not,
 * or one that died after recording) only finishes the job. An error with nothing recorded
 * (the database unreachable) is thrown: pg-boss retries the job.
 */
export async function runGenerationJob(
  ctx: WorkerContext,
  id: string,
  meta: JobMeta,
): Promise<void> {
  const job = await loadJob(ctx.db, id);
  if (!job || job.state === "recorded" || job.state === "failed") return;
  if (!(await recordedStatus(ctx.db, id))) {
    await markRunning(ctx.db, id);
    if (!job.request) {
      await markFailed(ctx.db, id, "internal_error");
      return;
    }
    try {
      const request = { ...openRequest(ctx.key, id, job.request), allowHold: true };
      const result = await generateImages(ctx.pipeline, request, ctx.signal);
      const hours = result.held ? ctx.holdRetentionHours : ctx.outputRetentionHours;
      await ctx.outputs.put(
        ctx.db,
        id,
        result.images.map((image, index) => ({
          index,
          mediaType: image.mediaType,
          bytes: image.bytes,
        })),
        new Date(Date.now() + hours * 3600_000),
      );
    } catch (error) {
      if (!(await recordedStatus(ctx.db, id).catch(() => null))) {
        ctx.logger.warn("job: attempt failed before recording; it will be retried", {
          generation_id: id,
          attempt: meta.retryCount,
          code: (error as HallmarkError).code ?? "internal_error",
        });
        if (meta.retryCount >= meta.retryLimit) {
          await markFailed(ctx.db, id, (error as HallmarkError).code ?? "internal_error");
        }
        throw error;
      }
      // Recorded (a refusal, a recorded failure, or another attempt's record): the outcome stands.
    }
  }
  await finishJob(ctx, id);
}

/** Marks the job recorded and, once only, queues its webhook. */
export async function finishJob(
  ctx: Pick<WorkerContext, "db" | "queue">,
  id: string,
): Promise<void> {
  const row = await markRecorded(ctx.db, id);
  if (!row?.webhookUrl) return;
  const recorded = await recordedStatus(ctx.db, id);
  const status = recorded ? outcomeStatus(recorded) : "failed";
  await ctx.queue.sendWebhook({
    generationId: id,
    type: eventType(status),
    messageId: `msg_${id}_${status}`,
    phase: "outcome",
  });
}

/**
 * Delivers one webhook: the event names the generation, its status and where to fetch it (no
 * image bytes: the receiver fetches them with its key). Throws on failure so pg-boss retries
 * with backoff; the last failure is recorded as `webhook_state = failed`.
 */
export async function runWebhookJob(
  ctx: WorkerContext,
  job: WebhookJob,
  meta: JobMeta,
): Promise<void> {
  const row = await loadJob(ctx.db, job.generationId);
  if (!row?.webhookUrl) return;
  const status = job.type.replace(/^generation\./, "");
  try {
    await ctx.webhooks.send(
      row.webhookUrl,
      {
        type: job.type,
        timestamp: new Date().toISOString(),
        data: {
          id: job.generationId,
          status,
          url: `${ctx.publicUrl}/v1/generations/${job.generationId}`,
        },
      },
      job.messageId,
    );
    // A held outcome's receiver hears again when a reviewer decides.
    const next = job.phase !== "review" && status === "held" ? "held" : "sent";
    await setWebhookState(ctx.db, job.generationId, next);
  } catch (error) {
    const final =
      meta.retryCount >= meta.retryLimit ||
      (error instanceof HallmarkError && error.code === "invalid_webhook_url");
    ctx.logger.warn("webhook delivery failed", {
      generation_id: job.generationId,
      attempt: meta.retryCount,
      final,
      error: (error as Error).message,
    });
    if (final) {
      await setWebhookState(ctx.db, job.generationId, "failed");
      return;
    }
    throw error;
  }
}
