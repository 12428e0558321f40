import type { PGlite } from "@electric-sql/pglite";
import PgBoss from "pg-boss";
import type { Database } from "../db/index.js";

/** The pg-boss queues Hallmark uses. */
export const GENERATION_QUEUE = "hallmark-generation";
export const WEBHOOK_QUEUE = "hallmark-webhook";

/** A webhook to deliver (the event is built when it is sent, from the generation's state). */
export interface WebhookJob {
  generationId: string;
  /** Standard Webhooks event type, e.g. `generation.completed`. */
  type: string;
  /** The receiver's dedup key, the same on every retry. */
  messageId: string;
  /** `outcome` (the job's recorded outcome) or `review` (a reviewer decided a hold). */
  phase?: "outcome" | "review";
}

export interface JobQueueOptions {
  database: Pick<Database, "kind" | "db"> & { url?: string };
  /** Seconds a worker may hold a generation job before pg-boss presumes it dead and retries. */
  expireSeconds: number;
  /** Retries of a generation job (after expiry or a crash). */
  retries: number;
  /** Attempts of a webhook delivery beyond the first, with exponential backoff. */
  webhookRetries: number;
  /** Seconds between an idle worker's polls. */
  pollSeconds: number;
  /** How often this process runs pg-boss maintenance (expiring jobs of dead workers), seconds. */
  superviseSeconds?: number;
  onError?: (error: Error) => void;
}

/** Handler metadata: which attempt this is (0 first). */
export interface JobMeta {
  retryCount: number;
  retryLimit: number;
}

/**
 * Hallmark's view of pg-boss: two queues (generations, webhooks) in the `pgboss` schema of the
 * database Hallmark already has. pg-boss needs a `pg`-compatible connection: on PostgreSQL it
 * gets the database URL (its own small pool); on the embedded PGlite it runs through an
 * `executeSql` adapter on the same PGlite instance (pg-boss's schema is plain PostgreSQL).
 */
export interface JobQueue {
  /** Queues a generation job whose id is the generation id (a second send is a no-op). */
  sendGeneration(id: string): Promise<void>;
  sendWebhook(job: WebhookJob): Promise<void>;
  /** Starts `concurrency` pollers of generation jobs. */
  workGenerations(
    concurrency: number,
    handler: (id: string, meta: JobMeta) => Promise<void>,
  ): Promise<void>;
  workWebhooks(
    concurrency: number,
    handler: (job: WebhookJob, meta: JobMeta) => Promise<void>,
  ): Promise<void>;
  /** Stops polling; `graceful` waits (up to `timeoutMs`) for running handlers. */
  stop(options?: { graceful?: boolean; timeoutMs?: number }): Promise<void>;
}

/** pg-boss's `db` option over PGlite: parameterless text may hold several statements. */
function pgliteExecutor(client: PGlite) {
  return {
    async executeSql(text: string, values?: unknown[]) {
      if (!values || values.length === 0) {
        const results = await client.exec(text);
        return results.at(-1) ?? { rows: [] };
      }
      return client.query(text, values);
    },
  };
}

/**
 * Starts pg-boss (creating or migrating its schema) and the two queues.
 *
 * @example const queue = await createJobQueue({ database, expireSeconds: 600, retries: 3, … })
 */
export async function createJobQueue(options: JobQueueOptions): Promise<JobQueue> {
  const { database } = options;
  const common = {
    schema: "pgboss",
    schedule: false,
    supervise: true,
    maintenanceIntervalSeconds: Math.max(
      1,
      Math.round(options.superviseSeconds ?? Math.min(120, options.expireSeconds / 2)),
    ),
  };
  let boss: PgBoss;
  if (database.kind === "pglite") {
    const client = (database.db as unknown as { $client: PGlite }).$client;
    boss = new PgBoss({ ...common, db: pgliteExecutor(client) } as PgBoss.ConstructorOptions);
  } else {
    if (!database.url) throw new Error("the job queue needs the PostgreSQL URL");
    boss = new PgBoss({ ...common, connectionString: database.url, max: 4 });
  }
  boss.on("error", (error) => options.onError?.(error));
  await boss.start();
  await ensureQueue(boss, {
    name: GENERATION_QUEUE,
    retryLimit: options.retries,
    expireInSeconds: options.expireSeconds,
    retryDelay: 1,
  });
  await ensureQueue(boss, {
    name: WEBHOOK_QUEUE,
    retryLimit: options.webhookRetries,
    retryDelay: 2,
    retryBackoff: true,
    expireInSeconds: 120,
  });

  const workers: string[] = [];
  const poll = { pollingIntervalSeconds: options.pollSeconds, includeMetadata: true };
  return {
    async sendGeneration(id) {
      await boss.send(GENERATION_QUEUE, { id }, { id });
    },
    async sendWebhook(job) {
      await boss.send(WEBHOOK_QUEUE, job);
    },
    async workGenerations(concurrency, handler) {
      for (let i = 0; i < concurrency; i++) {
        workers.push(
          await boss.work<{ id: string }>(GENERATION_QUEUE, poll, async ([job]) => {
            const j = job as PgBoss.JobWithMetadata<{ id: string }>;
            await handler(j.data.id, { retryCount: j.retryCount, retryLimit: j.retryLimit });
          }),
        );
      }
    },
    async workWebhooks(concurrency, handler) {
      for (let i = 0; i < concurrency; i++) {
        workers.push(
          await boss.work<WebhookJob>(WEBHOOK_QUEUE, poll, async ([job]) => {
            const j = job as PgBoss.JobWithMetadata<WebhookJob>;
            await handler(j.data, { retryCount: j.retryCount, retryLimit: j.retryLimit });
          }),
        );
      }
    },
    async stop({ graceful = true, timeoutMs = 10_000 } = {}) {
      await boss.stop({ graceful, timeout: timeoutMs, wait: true, close: true });
    },
  };
}

async function ensureQueue(boss: PgBoss, queue: PgBoss.Queue) {
  const { name } = queue;
  if (await boss.getQueue(name)) return;
  try {
    await boss.createQueue(name, queue);
  } catch (error) {
    // Another process created it between the check and the insert.
    if (!(await boss.getQueue(name))) throw error;
  }
}
