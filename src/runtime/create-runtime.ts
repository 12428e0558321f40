import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createRecorder } from "../audit/index.js";
import { createCheckpointer, loadLogKey } from "../audit/log/index.js";
import {
  createImageClassifier,
  loadCompletionTerms,
  withCompletionTerms,
} from "../classify/image/index.js";
import { createTextClassifier, type TextClassifier } from "../classify/text/index.js";
import { type BackendConfig, type Config, PACKAGE_ROOT } from "../config/index.js";
import { type Database, openDatabase } from "../db/index.js";
import {
  createAutomatic1111Generator,
  createComfyUIGenerator,
  createEmbeddedGenerator,
  createLimiter,
  createOnnxSdGenerator,
  createOpenAIImagesGenerator,
  createPlaceholderGenerator,
  createRoutingGenerator,
  DEFAULT_COMFYUI_EDIT_WORKFLOW_PATH,
  DEFAULT_COMFYUI_WORKFLOW_PATH,
  type Generator,
  loadComfyWorkflow,
  type RoutedBackend,
  type RoutingGenerator,
  withCircuitBreaker,
  withRetries,
} from "../generate/index.js";
import { type AppDeps, createApp, createRequestGate, type Operations } from "../http/index.js";
import { createDelivery, type Delivery } from "../jobs/index.js";
import {
  createLimits,
  createPostgresLimitStore,
  createRedisLimitStore,
  type Limits,
} from "../limits/index.js";
import type { Logger } from "../log/index.js";
import { createMetrics } from "../metrics/index.js";
import type { PipelineDeps } from "../pipeline/index.js";
import { createPolicyStore, loadLicenceRegistry, type PolicyStore } from "../policy/index.js";
import {
  type C2pa,
  type C2paPool,
  createC2pa,
  createC2paPool,
  loadCredentials,
} from "../provenance/c2pa/index.js";
import { loadHashList } from "../provenance/fingerprint/index.js";
import { createWatermarker, loadWatermarkKey } from "../provenance/watermark/index.js";
import { startTracing } from "../telemetry/index.js";
import { bootstrapIfEmpty, cachedAuthenticate, createAuthThrottle } from "../tenants/index.js";
import { createCpuPool, createPooledImageClassifier } from "../workers/index.js";

export interface Runtime {
  app: ReturnType<typeof createApp>;
  database: Database;
  text: TextClassifier;
  /** What the use cases run with (tests reach a stage's dependency through it). */
  pipeline: PipelineDeps;
  /** The bootstrap key file written on this start, if any (never the key itself). */
  bootstrapKeyFile: string | null;
  /** The policies in force: `policies.reload()` on SIGHUP (docs/policies.md). */
  policies: PolicyStore;
  /** Metrics, tracing and the request gate (docs/operations.md). */
  operations: Operations;
  /** Idempotency, async jobs, holds, stored outputs and webhooks (docs/async.md). */
  delivery: Delivery;
  /** Rate limits and image quotas (`limits.settled()`: the quota settlements under way). */
  limits: Limits;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger: Logger;
  /** An already open database (tests); otherwise opened from the config. */
  database?: Database;
  /** Run a job worker in this process from the start (`hallmark worker`). */
  worker?: boolean;
}

export const VERSION: string = JSON.parse(
  readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8"),
).version;

/** Opens the configured database: PostgreSQL when DATABASE_URL is set, else PGlite in the data dir. */
export function openConfiguredDatabase(config: Config): Promise<Database> {
  return config.databaseUrl
    ? openDatabase({ url: config.databaseUrl })
    : openDatabase({ dataDir: path.join(config.dataDir, "pglite") });
}

/**
 * The composition root: builds every capability from the configuration, in dependency order,
 * and hands them to the HTTP app. Nothing else constructs long-lived services.
 */
export async function createRuntime(config: Config, options: RuntimeOptions): Promise<Runtime> {
  const { logger } = options;
  mkdirSync(config.dataDir, { recursive: true });
  const database = options.database ?? (await openConfiguredDatabase(config));
  await database.migrate();
  const bootstrapKeyFile = config.bootstrap
    ? await bootstrapIfEmpty(database.db, config.dataDir)
    : null;

  // Base policies from the policy folder; each tenant's effective policy is resolved per request.
  const policies = await createPolicyStore({
    policyFile: config.policyFile,
    db: database.db,
    logger,
    cacheMs: config.policy.cacheMs,
  });
  const policy = policies.current();
  const licences = await loadLicenceRegistry(config.licenceDir);
  const modelPath = path.join(config.modelsDir, "text-classifier/model.onnx");
  const text = await createTextClassifier({
    lexiconDir: config.lexiconDir,
    publicFiguresDir: config.publicFiguresDir,
    modelPath: existsSync(modelPath) ? modelPath : undefined,
    maxChars: config.limits.maxPromptChars,
  });
  const watermarkKey = await loadWatermarkKey({
    dataDir: config.dataDir,
    keyFile: config.watermark.keyFile,
  });
  const imageOptions = {
    modelsDir: config.modelsDir,
    hashLists: await Promise.all(config.hashLists.files.map((f) => loadHashList(f))),
    hashThreshold: config.hashLists.threshold,
    maxPixels: config.limits.maxInputPixels,
    // The wide detector threads serve the shared layout's text reader, and in the per-thread
    // layout split screenings, which only a pool of 2+ threads makes; without a pool, nothing.
    ocr: {
      ...config.ocr,
      wideThreads:
        config.cpuThreads > 0 && (config.screeningLayout === "shared" || config.cpuThreads >= 2)
          ? config.ocr.wideThreads
          : 1,
    },
    // One ONNX thread per session: the pool's threads are the parallelism (but see wideThreads).
    sessionOptions: { intraOpNumThreads: 1 },
  };
  // Watermarking, PDQ and image screening run on worker threads, so they do not hold the event
  // loop (onnxruntime-node runs models synchronously on the calling thread).
  const cpu =
    config.cpuThreads > 0
      ? createCpuPool({
          threads: config.cpuThreads,
          watermarkKey,
          imageClassifier: imageOptions,
          screeningLayout: config.screeningLayout,
        })
      : null;
  // Text read in images is matched against the same lexicons, and a mark read in part
  // ("utterstock") is completed to the long intellectual-property term it belongs to.
  const ocrScreen = withCompletionTerms(text, loadCompletionTerms(config.lexiconDir));
  const image =
    cpu?.classifyImage && cpu.imageModels
      ? await createPooledImageClassifier({
          classify: cpu.classifyImage,
          readText: cpu.readImageText,
          split: cpu.splitScreening,
          models: cpu.imageModels,
          textScreen: ocrScreen,
        })
      : await createImageClassifier({ ...imageOptions, textScreen: ocrScreen });
  const watermark = {
    watermarker: cpu?.watermarker ?? createWatermarker({ key: watermarkKey }),
    issuerKeyId: config.watermark.issuerKeyId ?? watermarkKey.issuerKeyId,
  };
  const c2pa = await createConfiguredC2pa(config, logger);
  const logKey = await loadLogKey({
    dataDir: config.dataDir,
    keyFile: config.auditLog.keyFile,
    origin: config.auditLog.origin,
  });
  const checkpointer = createCheckpointer({
    db: database.db,
    signer: logKey.signer,
    verifier: logKey.verifier,
    origin: config.auditLog.origin,
    everyEntries: config.auditLog.everyEntries,
    everySeconds: config.auditLog.everySeconds,
    onError: (error) => logger.warn("audit checkpoint failed", { error: String(error) }),
  });
  checkpointer.start();
  const generator = await createGenerator(config);
  const pipeline: PipelineDeps = {
    db: database.db,
    policy,
    policies,
    logger,
    text,
    generator,
    licences,
    image,
    limiter: createLimiter(pipelineLimits(config)),
    limits: {
      maxPromptChars: config.limits.maxPromptChars,
      backendTimeoutMs: config.backend.timeoutMs,
      maxInputPixels: config.limits.maxInputPixels,
      stageTimeoutMs: config.stageTimeoutsMs,
    },
    c2pa,
    watermark,
    pdq: cpu?.pdq,
    recorder: createRecorder(database.db),
    logOrigin: config.auditLog.origin,
    onRecorded: () => checkpointer.appended(),
    holdForReview: config.delivery.holdForReview,
    version: VERSION,
    publicUrl: config.publicUrl,
  };
  const operations: Operations = {
    metrics: config.operations.metrics ? createMetrics({ backend: generator }) : undefined,
    metricsToken: config.operations.metricsToken,
    tracing: config.operations.otlpEndpoint
      ? startTracing({ endpoint: config.operations.otlpEndpoint, version: VERSION })
      : undefined,
    gate: createRequestGate({ timeoutMs: config.limits.requestTimeoutMs }),
    corsOrigins: config.operations.corsOrigins,
  };
  operations.metrics?.queueDepth("backend", () => pipeline.limiter.queued);
  // With a backends file each backend queues on its own limiter: one gauge each.
  for (const b of (generator as Partial<RoutingGenerator>).backends ?? []) {
    operations.metrics?.queueDepth(`backend:${b.name}`, () => b.limiter.queued);
  }
  const rateLimits = await createConfiguredLimits(config, database);
  const delivery = await createDelivery({
    config: config.delivery,
    dataDir: config.dataDir,
    publicUrl: config.publicUrl,
    requestTimeoutMs: config.limits.requestTimeoutMs,
    database: { ...database, url: (database as { url?: string }).url ?? config.databaseUrl },
    pipeline,
    logger,
    runWorker: options.worker === true || config.delivery.workerInServe,
    eager: options.worker === true,
  });
  // A reloaded policy is in force for every later request (tenants' are rebuilt from it).
  policies.onReload((current) => {
    pipeline.policy = current;
  });
  const stopWatching = config.policy.watch ? policies.watch() : () => {};
  const deps: AppDeps = {
    db: database.db,
    pipeline,
    text,
    policy,
    policies,
    logger,
    limits: config.limits,
    version: VERSION,
    pdqThreshold: config.hashLists.threshold,
    rateLimits,
    verifyRequiresKey: config.rateLimits.verifyRequiresKey,
    authenticate: cachedAuthenticate(database.db, { ttlMs: config.authCacheMs }),
    authThrottle:
      config.authFailuresPerMinute > 0
        ? createAuthThrottle({ failures: config.authFailuresPerMinute, windowMs: 60_000 })
        : undefined,
    review: config.review,
    operations,
    delivery,
    readiness: [
      { name: "database", check: () => database.ping() },
      {
        name: "image_models",
        check: async () => {
          if (existsSync(path.join(config.modelsDir, "nsfw")) && !image.models.nsfw) {
            throw new Error("nudity model not loaded");
          }
        },
      },
      {
        name: "text_model",
        check: async () => {
          if (existsSync(modelPath) && !text.modelId) throw new Error("text model not loaded");
        },
      },
      // Reported, not critical: generation answers 503 per request while a backend is down,
      // and the rest of the API still serves (src/http/routes/health.ts).
      {
        name: "backends",
        critical: false,
        check: () => generator.health(AbortSignal.timeout(2500)),
      },
    ],
  };
  logger.info("runtime ready", {
    database: database.kind,
    location: database.location,
    policy: policy.id,
    policy_hash: policy.hash,
    licence_registry_hash: licences.hash,
    backend: generator.name,
    text_model: text.modelId ?? null,
    image_models: image.models,
    image_model_versions: image.versions,
    // What the OCR check costs and catches depends on these (docs/image-screening.md).
    ocr: config.ocr,
    // Where the image models run, and how many copies there are (memory: src/workers/pool.ts).
    cpu_pool: cpu
      ? {
          threads: cpu.threads,
          screening_layout: cpu.screeningLayout,
          screening_threads: cpu.screeningThreads,
        }
      : null,
    // What bin/hallmark set for glibc's allocator (HALLMARK_MALLOC); null: glibc's defaults.
    malloc: { setting: config.malloc.setting, glibc_tunables: config.malloc.glibcTunables },
    watermark_key: watermarkKey.fingerprint,
    watermark_issuer_key_id: watermark.issuerKeyId,
    audit_log_origin: config.auditLog.origin,
    audit_log_vkey: logKey.vkey,
    c2pa_anchors: c2pa.anchors.map((a) => `${a.subject} (${a.source})`),
  });
  return {
    app: createApp(deps),
    database,
    policies,
    text,
    pipeline,
    bootstrapKeyFile,
    operations,
    delivery,
    limits: rateLimits,
    close: async () => {
      await delivery.close();
      stopWatching();
      await checkpointer.stop();
      await operations.tracing?.shutdown().catch(() => {});
      await text.close();
      await rateLimits.close();
      await image.close();
      // Local models' generators own threads that must end only between runs (on-thread.ts).
      await (generator as Partial<{ close(): Promise<void> }>).close?.();
      await cpu?.close();
      await (c2pa as Partial<C2paPool>).close?.();
      if (!options.database) await database.close();
    },
  };
}

/**
 * Rate limits and image quotas, with their state in Redis when HALLMARK_REDIS_URL is set, else
 * in the database every replica already shares (docs/limits.md).
 */
async function createConfiguredLimits(config: Config, database: Database): Promise<Limits> {
  const r = config.rateLimits;
  const store = r.redisUrl
    ? await createRedisLimitStore({ url: r.redisUrl, timeoutMs: r.redisTimeoutMs })
    : createPostgresLimitStore(database.db);
  return createLimits({
    db: database.db,
    store,
    defaults: {
      rate: { rps: r.rps, burst: r.burst },
      quota: { imagesPerDay: r.imagesPerDay, imagesPerMonth: r.imagesPerMonth },
    },
    cacheMs: r.cacheMs,
    perKey: { rps: r.keyRps, burst: r.keyBurst },
    holdMs: r.quotaHoldMs,
  });
}

/**
 * C2PA credentials from the configured files (or a remote signer), else development credentials
 * generated into `<dataDir>/certs/`; signing in a worker pool so the event loop stays free.
 */
async function createConfiguredC2pa(config: Config, logger: Logger): Promise<C2pa> {
  const c = config.c2pa;
  const credentials = await loadCredentials({
    dataDir: config.dataDir,
    certFile: c.certFile,
    keyFile: c.keyFile,
    chainFile: c.chainFile,
    remote: c.remote,
  });
  if (credentials.source === "development") {
    logger.warn(
      "C2PA: signing with development credentials; configure HALLMARK_C2PA_CERT_FILE for production",
      {
        ca: path.join(config.dataDir, "certs/dev-ca.pem"),
      },
    );
  }
  const options = {
    credentials,
    trustAnchorsPem: c.trustAnchorsFile ? await readFile(c.trustAnchorsFile, "utf8") : undefined,
    trustListFile: c.trustListFile,
    tsa: c.tsa && {
      url: c.tsa.url,
      required: c.tsa.required,
      trustAnchorsPem: c.tsa.trustAnchorsFile
        ? await readFile(c.tsa.trustAnchorsFile, "utf8")
        : undefined,
    },
    maxPixels: config.limits.maxInputPixels,
    log: (level: "warn" | "error", message: string, fields: Record<string, unknown>) =>
      logger[level](message, fields),
  };
  return c.workers > 0 ? createC2paPool({ ...options, size: c.workers }) : createC2pa(options);
}

/**
 * The configured backend; with HALLMARK_BACKENDS_FILE, every backend of the file behind a router
 * that sends each request to the backend serving its model, each with its own limiter.
 */
async function createGenerator(config: Config): Promise<Generator> {
  if (!config.backends) return createBackend(config, config.backend);
  const routed: RoutedBackend[] = [];
  try {
    for (const b of config.backends.backends) {
      routed.push({
        name: b.name,
        models: b.models,
        generator: await createBackend(config, b.config),
        limiter: createLimiter({ concurrency: b.config.concurrency, queue: b.config.queue }),
      });
    }
    return createRoutingGenerator(routed, config.backends.default);
  } catch (error) {
    for (const r of routed) await (r.generator as Partial<{ close(): Promise<void> }>).close?.();
    throw error;
  }
}

/**
 * The pipeline's own limit: with one backend, its concurrency and queue; with a backends file,
 * the backends' own limiters bound each one, and this one only their sum.
 */
function pipelineLimits(config: Config) {
  if (!config.backends) {
    return { concurrency: config.backend.concurrency, queue: config.backend.queue };
  }
  const all = config.backends.backends.reduce(
    (n, b) => n + b.config.concurrency + b.config.queue,
    0,
  );
  return { concurrency: all, queue: 0 };
}

/**
 * One backend, wrapped in retries (only of failures that are safe to retry) and a circuit
 * breaker; the local models and the placeholder need neither.
 */
async function createBackend(config: Config, b: BackendConfig): Promise<Generator> {
  const maxPixels = config.limits.maxPixels;
  let base: Generator;
  switch (b.kind) {
    case "placeholder":
      return createPlaceholderGenerator();
    // Local ONNX models: nothing to retry and no upstream to break a circuit on.
    case "embedded":
      return createEmbeddedGenerator({
        dir: path.join(config.modelsDir, "embedded-diffusion"),
        steps: b.steps,
      });
    case "onnx-sd":
      return createOnnxSdGenerator({
        dir: b.dir,
        modelId: b.modelId,
        steps: b.steps,
        sampler: b.sampler,
        guidanceScale: b.guidanceScale,
        executionProvider: b.provider,
      });
    case "automatic1111":
      base = createAutomatic1111Generator({ url: b.url, maxPixels });
      break;
    case "openai":
      base = createOpenAIImagesGenerator({
        url: b.url,
        apiKey: b.apiKey,
        model: b.model,
        maxPixels,
      });
      break;
    case "comfyui":
      base = createComfyUIGenerator({
        url: b.url,
        workflow: await loadComfyWorkflow(b.workflow ?? DEFAULT_COMFYUI_WORKFLOW_PATH),
        editWorkflow:
          b.editWorkflow === "off"
            ? undefined
            : await loadComfyWorkflow(
                b.editWorkflow ?? DEFAULT_COMFYUI_EDIT_WORKFLOW_PATH,
                "img2img",
              ),
        defaultModel: b.checkpoint,
        maxPixels,
      });
      break;
  }
  return withCircuitBreaker(withRetries(base, { retries: b.retries }), {
    failures: b.breakerFailures,
    cooldownMs: b.breakerCooldownMs,
  });
}
