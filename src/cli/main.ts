import path from "node:path";
import { serve } from "@hono/node-server";
import { Command } from "commander";
import { loadConfig } from "../config/index.js";
import { HallmarkError } from "../errors/index.js";
import { createLogger } from "../log/index.js";
import { createRuntime, openConfiguredDatabase, VERSION } from "../runtime/index.js";
import {
  createApiKey,
  createTenant,
  listApiKeys,
  listTenants,
  parseTenantList,
  revokeApiKey,
} from "../tenants/index.js";
import { collectGarbage } from "../workers/index.js";
import { registerAuditCommands } from "./audit.js";
import { registerCertsCommands } from "./certs.js";
import { localGatewayUrl, registerGenerateCommand } from "./generate.js";
import { registerPolicyCommands } from "./policy.js";
import { registerReviewerCommands } from "./reviewer.js";
import { registerUsageCommands } from "./usage.js";
import { registerWatermarkCommands } from "./watermark.js";
import { registerWorkerCommand } from "./worker.js";

/**
 * `hallmark`: serve, migrate, tenant and key management. Configuration comes from the
 * environment (see README); a bad value stops the command with a message naming the variable.
 */
function config() {
  return loadConfig(process.env);
}

async function withDb<T>(
  fn: (db: Awaited<ReturnType<typeof openConfiguredDatabase>>) => Promise<T>,
): Promise<T> {
  const database = await openConfiguredDatabase(config());
  try {
    await database.migrate();
    return await fn(database);
  } finally {
    await database.close();
  }
}

const program = new Command("hallmark")
  .version(VERSION)
  .description("Provenance and content-policy gateway");

program
  .command("serve")
  .description("start the gateway")
  .action(async () => {
    const cfg = config();
    const logger = createLogger(cfg.logLevel);
    const runtime = await createRuntime(cfg, { logger });
    if (runtime.bootstrapKeyFile) {
      logger.info("empty database: wrote a bootstrap API key for tenant 'default'", {
        file: runtime.bootstrapKeyFile,
      });
    }
    // What start-up left (the database's, the models' and the signers' loading) is given back
    // before the first request rather than over the first requests (bin/hallmark: --expose-gc).
    const collected = collectGarbage();
    const server = serve(
      { fetch: runtime.app.fetch, hostname: cfg.host, port: cfg.port },
      (info) => {
        logger.info("listening", {
          url: `http://${info.address}:${info.port}`,
          resident_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
          collected_after_start: collected,
        });
      },
    );
    server.on("error", async (error) => {
      logger.error("cannot listen", { error: String(error) });
      await runtime.close();
      process.exit(1);
    });
    // Graceful stop (docs/operations.md): refuse new requests, let those in flight finish and
    // commit their audit up to the deadline, cancel the rest, then close the database.
    const stop = async (signal: string) => {
      const deadlineMs = cfg.operations.shutdownDeadlineMs;
      const gate = runtime.operations.gate;
      logger.info("stopping", { signal, in_flight: gate.inFlight, deadline_ms: deadlineMs });
      server.close();
      const drained = await gate.drain(deadlineMs);
      await runtime.close();
      logger.info("stopped", { signal, ...drained });
      process.exit(drained.abandoned === 0 ? 0 : 1);
    };
    process.once("SIGINT", () => void stop("SIGINT"));
    process.once("SIGTERM", () => void stop("SIGTERM"));
    // Reload the policies; an invalid file is logged and the policies in force stay.
    process.on("SIGHUP", () => void runtime.policies.reload("SIGHUP"));
  });

program
  .command("migrate")
  .description("apply pending database migrations")
  .action(() => withDb(async (d) => console.log(`migrated ${d.kind} database at ${d.location}`)));

const tenant = program.command("tenant").description("manage tenants");
tenant
  .command("create <name>")
  .description("create a tenant")
  .action((name: string) =>
    withDb(async ({ db }) => {
      const t = await createTenant(db, name);
      console.log(`created tenant ${t.name} (${t.id})`);
    }),
  );
tenant
  .command("list")
  .description("list tenants")
  .action(() =>
    withDb(async ({ db }) => {
      for (const t of await listTenants(db))
        console.log(`${t.name}\t${t.id}\t${t.createdAt.toISOString()}`);
    }),
  );

const key = program.command("key").description("manage API keys (only their hashes are stored)");
key
  .command("create")
  .description("create a key; the key is printed once, as the last line")
  .requiredOption("--tenant <name>", "tenant the key belongs to")
  .option("--label <label>", "a note to tell keys apart")
  .option(
    "--scope <scope...>",
    "what the key may do: generate, moderate, verify, review, audit-read, admin (default: generate moderate verify)",
  )
  .option(
    "--review-tenants <names>",
    "with --scope review: the tenants (comma-separated) whose requests the key sees in the review workspace (default: every tenant)",
  )
  .action((opts: { tenant: string; label?: string; scope?: string[]; reviewTenants?: string }) =>
    withDb(async ({ db }) => {
      const { key: secret, info } = await createApiKey(db, {
        tenant: opts.tenant,
        label: opts.label,
        scopes: opts.scope,
        reviewTenants:
          opts.reviewTenants === undefined ? null : parseTenantList(opts.reviewTenants),
      });
      const review = info.reviewTenants ? ` (review: ${info.reviewTenants.join(",")} only)` : "";
      console.log(
        `created key ${info.id} (${info.prefix}…) for tenant ${info.tenant}${review}; it is shown only now:`,
      );
      console.log(secret);
    }),
  );
key
  .command("list")
  .option("--tenant <name>", "only this tenant's keys")
  .description("list keys (prefix, never the key)")
  .action((opts: { tenant?: string }) =>
    withDb(async ({ db }) => {
      for (const k of await listApiKeys(db, opts)) {
        const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "active";
        const scopes = k.scopes
          .map((s) => (s === "review" && k.reviewTenants ? `review:${k.reviewTenants}` : s))
          .join(" ");
        console.log(`${k.id}\t${k.prefix}…\t${k.tenant}\t${k.label ?? ""}\t${state}\t${scopes}`);
      }
    }),
  );
key
  .command("revoke <idOrPrefix>")
  .description("revoke a key by id or shown prefix")
  .action((idOrPrefix: string) =>
    withDb(async ({ db }) => {
      if (!(await revokeApiKey(db, idOrPrefix))) {
        throw new HallmarkError("not_found", `No active key ${idOrPrefix}.`);
      }
      // Gateways remember a key that authenticated for a moment (src/tenants/key-cache.ts).
      const ms = config().authCacheMs;
      console.log(
        ms > 0
          ? `revoked ${idOrPrefix} (running gateways refuse it within ${ms} ms, HALLMARK_AUTH_CACHE_MS)`
          : `revoked ${idOrPrefix}`,
      );
    }),
  );

/** Commands of other capabilities read the same configuration; a bad value stops them too. */
function lazyConfig() {
  try {
    return config();
  } catch (error) {
    console.error(`hallmark: ${(error as Error).message}`);
    process.exit(1);
  }
}
const cfg = lazyConfig();
registerCertsCommands(program, {
  dataDir: cfg.dataDir,
  certFile: cfg.c2pa.certFile,
  keyFile: cfg.c2pa.keyFile,
  chainFile: cfg.c2pa.chainFile,
  remote: cfg.c2pa.remote,
  trustAnchorsFile: cfg.c2pa.trustAnchorsFile,
  trustListFile: cfg.c2pa.trustListFile,
  tsa: cfg.c2pa.tsa,
});

registerWatermarkCommands(program, { dataDir: cfg.dataDir });
registerGenerateCommand(program, {
  defaultUrl: localGatewayUrl(cfg.host, cfg.port),
  defaultKeyFile: path.join(cfg.dataDir, "bootstrap-key"),
});
registerReviewerCommands(program, {
  openDatabase: async () => {
    const database = await openConfiguredDatabase(cfg);
    await database.migrate();
    return database;
  },
});
registerWorkerCommand(program, config);
registerPolicyCommands(program, tenant, {
  config: cfg,
  openDatabase: async () => {
    const database = await openConfiguredDatabase(cfg);
    await database.migrate();
    return database;
  },
});
registerAuditCommands(program, {
  openDatabase: async () => {
    const database = await openConfiguredDatabase(cfg);
    await database.migrate();
    return database;
  },
  dataDir: cfg.dataDir,
  keyFile: cfg.auditLog.keyFile,
  origin: cfg.auditLog.origin,
});

registerUsageCommands(program, tenant, {
  openDatabase: async () => {
    const database = await openConfiguredDatabase(cfg);
    await database.migrate();
    return database;
  },
  defaults: {
    rate: { rps: cfg.rateLimits.rps, burst: cfg.rateLimits.burst },
    quota: {
      imagesPerDay: cfg.rateLimits.imagesPerDay,
      imagesPerMonth: cfg.rateLimits.imagesPerMonth,
    },
  },
});

program.parseAsync(process.argv).catch((error: unknown) => {
  const message =
    error instanceof HallmarkError ? error.message : String((error as Error)?.stack ?? error);
  console.error(`hallmark: ${message}`);
  process.exit(1);
});
