import type { Config } from "../config/index.js";
import type { Database } from "../db/index.js";
import { withDatabase } from "../db/index.js";
import { generationJobs } from "../db/schema-jobs.js";
import type { Logger } from "../log/index.js";
import {
  createOutputStore,
  loadOutputKey,
  type OutputKey,
  type OutputStore,
} from "../outputs/index.js";
import type { GenerationRequest, PipelineDeps } from "../pipeline/index.js";
import {
  checkWebhookUrl,
  createWebhookSender,
  loadWebhookSecret,
  type WebhookUrlPolicy,
} from "../webhooks/index.js";
import { createJobQueue, type JobQueue } from "./boss.js";
import {
  claimDecidedHolds,
  hasUnfinishedJobs,
  type MaintenanceReport,
  purgeExpired,
} from "./maintenance.js";
import { submitGeneration } from "./submit.js";
import { runGenerationJob, runWebhookJob, type WorkerContext } from "./worker.js";

/**
 * Everything about delivering images other than "here they are, now": idempotent replays,
 * asynchronous jobs, review holds, the encrypted output store and webhooks. The HTTP layer and
 * `hallmark worker` receive one of these from the runtime.
 */
export interface Delivery {
  outputs: OutputStore;
  idempotency: { ttlHours: number; takeoverAfterMs: number };
  webhookPolicy: WebhookUrlPolicy;
  outputRetentionHours: number;
  holdRetentionHours: number;
  holdForReview: boolean;
  /** Checks a request's webhook URL (form, allow-list, resolved addresses); 400 otherwise. */
  checkWebhookUrl(url: string): Promise<string>;
  /**
   * Keeps a held request's images (sealed, for HALLMARK_HOLD_RETENTION_HOURS) until a reviewer
   * decides; `webhookUrl` then hears the decision.
   */
  hold(input: {
    id: string;
    tenantId: string;
    apiKeyId: string | null;
    images: Array<{ mediaType: string; bytes: Buffer }>;
    webhookUrl?: string;
  }): Promise<void>;
  /** Queues an asynchronous generation under `id` (its generation id). */
  submit(input: { id: string; request: GenerationRequest; webhookUrl?: string }): Promise<void>;
  /** One retention pass (also run on a timer). */
  maintain(now?: Date): Promise<MaintenanceReport>;
  /** Starts the job queue now (and this process's worker, when it runs one). */
  start(): Promise<JobQueue>;
  close(options?: { graceful?: boolean }): Promise<void>;
}

export interface DeliveryOptions {
  config: Config["delivery"];
  dataDir: string;
  publicUrl: string;
  requestTimeoutMs: number;
  database: Database & { url?: string };
  pipeline: PipelineDeps;
  logger: Logger;
  /** Run generation and webhook jobs in this process (`hallmark worker`, or serve on PGlite). */
  runWorker: boolean;
  /** Start the queue (and worker) at once instead of on first use (`hallmark worker`). */
  eager?: boolean;
  /** Seconds between pg-boss maintenance passes (expiry of dead workers' jobs). */
  superviseSeconds?: number;
  /** Milliseconds between retention passes. */
  maintenanceIntervalMs?: number;
}

/**
 * Builds the delivery machinery. The job queue (pg-boss) starts lazily: at once for a worker
 * (or when jobs are waiting from an earlier run), otherwise on the first asynchronous request,
 * so that a gateway that never queues anything never polls.
 *
 * @example const delivery = await createDelivery({ config: config.delivery, … runWorker: true })
 */
export async function createDelivery(options: DeliveryOptions): Promise<Delivery> {
  const { config, database, logger } = options;
  const key: OutputKey = await loadOutputKey({
    dataDir: options.dataDir,
    keyFile: config.outputKeyFile,
  });
  const outputs = createOutputStore(key);
  const webhookPolicy: WebhookUrlPolicy = {
    allowPrivate: config.webhook.allowPrivate,
    allowedHosts: config.webhook.allowedHosts,
  };
  const webhooks = createWebhookSender({
    key: await loadWebhookSecret({
      dataDir: options.dataDir,
      secretFile: config.webhook.secretFile,
    }),
    policy: webhookPolicy,
    timeoutMs: config.webhook.timeoutMs,
  });
  const stopping = new AbortController();
  let queue: Promise<JobQueue> | null = null;

  const start = (): Promise<JobQueue> => {
    queue ??= (async () => {
      const q = await createJobQueue({
        database,
        expireSeconds: config.jobExpireSeconds,
        retries: config.jobRetries,
        webhookRetries: config.webhook.retries,
        pollSeconds: config.workerPollSeconds,
        superviseSeconds: options.superviseSeconds,
        onError: (error) => logger.warn("job queue error", { error: error.message }),
      });
      if (options.runWorker) {
        const ctx: WorkerContext = {
          db: database.db,
          pipeline: options.pipeline,
          queue: q,
          key,
          outputs,
          webhooks,
          logger,
          publicUrl: options.publicUrl,
          outputRetentionHours: config.outputRetentionHours,
          holdRetentionHours: config.holdRetentionHours,
          signal: stopping.signal,
        };
        await q.workGenerations(config.workerConcurrency, (id, meta) =>
          runGenerationJob(ctx, id, meta),
        );
        await q.workWebhooks(2, (job, meta) => runWebhookJob(ctx, job, meta));
        logger.info("worker started", { concurrency: config.workerConcurrency });
      }
      return q;
    })();
    queue.catch(() => {
      queue = null;
    });
    return queue;
  };

  const maintain = async (now?: Date): Promise<MaintenanceReport> => {
    const report = await purgeExpired(database.db, outputs, now);
    const decided = await claimDecidedHolds(database.db);
    if (decided.length > 0) {
      const q = await start();
      for (const { id, decision } of decided) {
        const status = decision === "approve" ? "completed" : "refused";
        await q.sendWebhook({
          generationId: id,
          type: `generation.${status}`,
          messageId: `msg_${id}_review`,
          phase: "review",
        });
      }
    }
    return { ...report, reviewWebhooks: decided.length };
  };
  const timer = setInterval(() => {
    maintain().catch((error: unknown) =>
      logger.warn("delivery maintenance failed", { error: String(error) }),
    );
  }, options.maintenanceIntervalMs ?? 60_000);
  timer.unref();

  if (options.runWorker) {
    // `hallmark worker` polls from the start; a gateway with a worker inside only once there is
    // (or was, before a restart) something to do.
    if (options.eager || (await hasUnfinishedJobs(database.db).catch(() => false))) {
      start().catch((error: unknown) =>
        logger.error("job queue did not start", { error: String(error) }),
      );
    }
  }

  return {
    outputs,
    idempotency: {
      ttlHours: config.idempotencyTtlHours,
      takeoverAfterMs: options.requestTimeoutMs,
    },
    webhookPolicy,
    outputRetentionHours: config.outputRetentionHours,
    holdRetentionHours: config.holdRetentionHours,
    holdForReview: config.holdForReview,
    checkWebhookUrl: async (url) => (await checkWebhookUrl(url, webhookPolicy)).toString(),
    hold: async (input) => {
      await outputs.put(
        database.db,
        input.id,
        input.images.map((image, index) => ({ index, ...image })),
        new Date(Date.now() + config.holdRetentionHours * 3600_000),
      );
      await withDatabase(() =>
        database.db
          .insert(generationJobs)
          .values({
            id: input.id,
            tenantId: input.tenantId,
            apiKeyId: input.apiKeyId,
            mode: "hold",
            state: "recorded",
            webhookUrl: input.webhookUrl ?? null,
            webhookState: input.webhookUrl ? "held" : null,
          })
          .onConflictDoNothing(),
      );
    },
    submit: async (input) => {
      const q = await start();
      await submitGeneration({ db: database.db, queue: q, key }, input);
    },
    maintain,
    start,
    close: async ({ graceful = false } = {}) => {
      clearInterval(timer);
      if (!graceful) stopping.abort();
      const q = queue ? await queue.catch(() => null) : null;
      await q?.stop({ graceful, timeoutMs: 5_000 });
    },
  };
}
