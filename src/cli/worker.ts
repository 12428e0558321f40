import type { Command } from "commander";
import type { Config } from "../config/index.js";
import { HallmarkError } from "../errors/index.js";
import { createLogger } from "../log/index.js";
import { createRuntime } from "../runtime/index.js";

/**
 * `hallmark worker`: a process that pulls generation and webhook jobs from the PostgreSQL queue
 * (pg-boss) and runs the same pipeline as the gateway: screen, generate, screen, watermark,
 * sign, record. Run as many as there are GPU hosts; a job held by a worker that dies is retried
 * by another after HALLMARK_JOB_EXPIRE_SECONDS, with one audit record whatever happens.
 * SIGTERM stops taking jobs and waits for the running ones (up to the shutdown deadline).
 */
export function registerWorkerCommand(program: Command, config: () => Config): void {
  program
    .command("worker")
    .description("run generation and webhook jobs from the PostgreSQL queue (docs/async.md)")
    .action(async () => {
      const cfg = config();
      if (!cfg.databaseUrl) {
        // Two processes must never open one PGlite folder; serve runs the jobs itself there.
        throw new HallmarkError(
          "config_error",
          "hallmark worker needs PostgreSQL (DATABASE_URL); with the embedded database, `hallmark serve` runs the jobs itself.",
        );
      }
      const logger = createLogger(cfg.logLevel);
      const runtime = await createRuntime(cfg, { logger, worker: true });
      await runtime.delivery.start();
      logger.info("worker ready", { concurrency: cfg.delivery.workerConcurrency });
      const stop = async (signal: string) => {
        logger.info("worker stopping", { signal });
        await runtime.delivery.close({ graceful: true }).catch(() => {});
        await runtime.close();
        process.exit(0);
      };
      process.once("SIGINT", () => void stop("SIGINT"));
      process.once("SIGTERM", () => void stop("SIGTERM"));
    });
}
