import { readFileSync } from "node:fs";
import path from "node:path";
import type { z } from "zod";
import { HallmarkError } from "../errors/index.js";
import { type BackendsFile, parseBackendsFile } from "./backends-file.js";
import { mallocTunablesInForce } from "./malloc.js";
import { PACKAGE_ROOT } from "./paths.js";
import { type Env, envSchema, parseSize } from "./schema.js";

export interface BackendCommon {
  concurrency: number;
  queue: number;
  timeoutMs: number;
  retries: number;
  breakerFailures: number;
  breakerCooldownMs: number;
}

/** One generation backend's settings (HALLMARK_BACKEND and its variables, or a backends file entry). */
export type BackendConfig = Config["backend"];

/** Typed, validated configuration. Built once at start; everything else receives it. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  policyFile: string;
  /** Tenant policy cache time and whether policy files are watched (docs/policies.md). */
  policy: { cacheMs: number; watch: boolean };
  /** How long a key that authenticated is trusted without a lookup (ms; 0: none). */
  authCacheMs: number;
  /** Wrong API keys per client address per minute, per replica, before 429 (0: no limit). */
  authFailuresPerMinute: number;
  /** Each policy-governed stage's time limit, ms (HALLMARK_STAGE_TIMEOUT_<STAGE>_MS). */
  stageTimeoutsMs: Record<
    "screen_prompt" | "screen_input" | "screen_output" | "watermark" | "c2pa",
    number
  >;
  lexiconDir: string;
  licenceDir: string;
  publicFiguresDir: string;
  modelsDir: string;
  logLevel: Env["HALLMARK_LOG_LEVEL"];
  publicUrl: string;
  limits: {
    maxPromptChars: number;
    maxBodyBytes: number;
    maxImages: number;
    maxPixels: number;
    maxInputPixels: number;
    /** Largest uploaded image file (edits), bytes. */
    maxInputBytes: number;
    /** Most input images in one edit. */
    maxEditImages: number;
    maxModerationInputs: number;
    /** Most images in one /v1/moderations request. */
    maxModerationImages: number;
    /** Remote image URLs in /v1/moderations: fetched (SSRF-checked) when set, else refused. */
    moderationRemoteImages?: { timeoutMs: number; maxBytes: number } | null;
    sizes: string[];
    defaultSize: string;
    requestTimeoutMs: number;
  };
  backend: BackendCommon &
    (
      | { kind: "placeholder" }
      | { kind: "embedded"; steps: number }
      | {
          kind: "onnx-sd";
          dir: string;
          modelId?: string;
          steps: number;
          sampler?: "euler_a" | "euler" | "ddim";
          guidanceScale: number;
          provider: "auto" | "cuda" | "cpu";
        }
      | { kind: "automatic1111"; url: string }
      | { kind: "openai"; url: string; apiKey?: string; model: string }
      | {
          kind: "comfyui";
          url: string;
          workflow?: string;
          /** The img2img template; absent: the bundled one; `off`: the backend has no edits. */
          editWorkflow?: string;
          checkpoint: string;
        }
    );
  /**
   * HALLMARK_BACKENDS_FILE: several backends, routed by the request's model; `backend` is then
   * the default one's settings.
   */
  backends?: BackendsFile;
  c2pa: {
    certFile?: string;
    keyFile?: string;
    chainFile?: string;
    remote?: { url: string; token?: string; keyId?: string };
    trustAnchorsFile?: string;
    trustListFile?: string;
    tsa?: { url: string; required: boolean; trustAnchorsFile?: string };
    workers: number;
  };
  hashLists: { files: string[]; threshold: number };
  /** Text in images, as the image classifier's `ocr` options take it. */
  ocr: {
    /** Long side of the upright detection pass (HALLMARK_OCR_DETECTION_SIDE). */
    detectionSide: number;
    /** Detection passes over turned copies (HALLMARK_OCR_TURNED_PASSES); empty: none. */
    turnedPasses: Array<{ side: number; degrees: number }>;
    /** Upright map peak under which the turned passes are skipped (HALLMARK_OCR_TURNED_PASS_GATE). */
    turnedPassGate: number;
    /** The text detector's precision (HALLMARK_OCR_DETECTOR_PRECISION). */
    detectorPrecision: "float" | "int8";
    /** OCR threads of the shared layout's text thread, or of a per-thread split (HALLMARK_OCR_WIDE_THREADS). */
    wideThreads: number;
  };
  watermark: { keyFile?: string; issuerKeyId?: number };
  /** Worker threads for watermark and PDQ work (0: in-process). */
  cpuThreads: number;
  /** Where the pool's image models live (HALLMARK_SCREENING_LAYOUT). */
  screeningLayout: "shared" | "per-thread";
  /**
   * glibc's allocator: the setting bin/hallmark applies (HALLMARK_MALLOC), and the malloc
   * tunables the process was started with (null: glibc's defaults).
   */
  malloc: { setting: "compact" | "system"; glibcTunables: string | null };
  auditLog: { origin: string; keyFile?: string; everyEntries: number; everySeconds: number };
  bootstrap: boolean;
  /** Rate limits, image quotas and their shared store (docs/limits.md). */
  rateLimits: {
    rps: number;
    burst: number;
    /** Per API key, within the tenant's limit (rps 0: none). */
    keyRps: number;
    keyBurst: number;
    imagesPerDay: number;
    imagesPerMonth: number;
    cacheMs: number;
    redisUrl?: string;
    redisTimeoutMs: number;
    verifyRequiresKey: boolean;
    /** Quota reservations left unsettled this long are given back (ms). */
    quotaHoldMs: number;
  };
  /** Idempotency keys, the output store, async jobs, review holds and webhooks (docs/async.md). */
  delivery: {
    idempotencyTtlHours: number;
    outputKeyFile?: string;
    outputRetentionHours: number;
    holdRetentionHours: number;
    holdForReview: boolean;
    jobExpireSeconds: number;
    jobRetries: number;
    workerConcurrency: number;
    workerPollSeconds: number;
    workerInServe: boolean;
    webhook: {
      secretFile?: string;
      allowPrivate: boolean;
      allowedHosts?: string[];
      timeoutMs: number;
      retries: number;
    };
  };
  /** The review workspace's login limits and proxy trust (docs/review.md). */
  review: {
    trustProxy: boolean;
    login: { maxFailures: number; maxFailuresPerIp: number; windowS: number };
  };
  /** Metrics, tracing, shutdown and browser access (docs/operations.md). */
  operations: {
    metrics: boolean;
    metricsToken?: string;
    otlpEndpoint?: string;
    shutdownDeadlineMs: number;
    corsOrigins: string[];
  };
}

/**
 * Reads and validates the environment. Throws a `HallmarkError` (`config_error`) whose message
 * names every variable that is wrong, so the process can stop with it.
 *
 * @example loadConfig({ HALLMARK_PORT: "9000" }).port // 9000
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k in envSchema.shape && v !== undefined && v !== ""),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) throw configError(parsed.error);
  const e = parsed.data;

  const problems: string[] = [];
  for (const size of e.HALLMARK_SIZES) {
    const s = parseSize(size)!;
    if (s.width * s.height > e.HALLMARK_MAX_PIXELS) {
      problems.push(
        `HALLMARK_SIZES: ${size} exceeds HALLMARK_MAX_PIXELS (${e.HALLMARK_MAX_PIXELS})`,
      );
    }
  }
  if (!e.HALLMARK_SIZES.includes(e.HALLMARK_DEFAULT_SIZE)) {
    problems.push(`HALLMARK_DEFAULT_SIZE: ${e.HALLMARK_DEFAULT_SIZE} is not in HALLMARK_SIZES`);
  }
  if (e.HALLMARK_C2PA_KEY_FILE && !e.HALLMARK_C2PA_CERT_FILE) {
    problems.push("HALLMARK_C2PA_KEY_FILE: set HALLMARK_C2PA_CERT_FILE with it");
  }
  if (e.HALLMARK_C2PA_REMOTE_URL && !e.HALLMARK_C2PA_CERT_FILE) {
    problems.push(
      "HALLMARK_C2PA_REMOTE_URL: set HALLMARK_C2PA_CERT_FILE to the signer's certificate chain",
    );
  }
  if (e.HALLMARK_BACKEND === "comfyui" && !e.HALLMARK_COMFYUI_URL) {
    problems.push("HALLMARK_COMFYUI_URL: required when HALLMARK_BACKEND=comfyui");
  }
  if (e.HALLMARK_BACKEND === "onnx-sd" && !e.HALLMARK_ONNX_SD_DIR) {
    problems.push("HALLMARK_ONNX_SD_DIR: required when HALLMARK_BACKEND=onnx-sd");
  }
  if (e.HALLMARK_BACKEND === "automatic1111" && !e.HALLMARK_A1111_URL) {
    problems.push("HALLMARK_A1111_URL: required when HALLMARK_BACKEND=automatic1111");
  }
  if (e.HALLMARK_QUOTA_HOLD_SECONDS * 1000 <= e.HALLMARK_REQUEST_TIMEOUT_MS) {
    problems.push(
      `HALLMARK_QUOTA_HOLD_SECONDS: must exceed the request time-out (HALLMARK_REQUEST_TIMEOUT_MS = ${e.HALLMARK_REQUEST_TIMEOUT_MS}), or a request still running would lose its reservation`,
    );
  }
  if (problems.length > 0) {
    throw new HallmarkError("config_error", `Invalid configuration:\n  ${problems.join("\n  ")}`);
  }

  const backendCommon: BackendCommon = {
    concurrency: e.HALLMARK_BACKEND_CONCURRENCY,
    queue: e.HALLMARK_BACKEND_QUEUE,
    timeoutMs: e.HALLMARK_BACKEND_TIMEOUT_MS,
    retries: e.HALLMARK_BACKEND_RETRIES,
    breakerFailures: e.HALLMARK_BREAKER_FAILURES,
    breakerCooldownMs: e.HALLMARK_BREAKER_COOLDOWN_MS,
  };
  const backend: Config["backend"] =
    e.HALLMARK_BACKEND === "automatic1111"
      ? { kind: "automatic1111", url: e.HALLMARK_A1111_URL!, ...backendCommon }
      : e.HALLMARK_BACKEND === "openai"
        ? {
            kind: "openai",
            url: e.HALLMARK_OPENAI_URL,
            apiKey: e.HALLMARK_OPENAI_API_KEY,
            model: e.HALLMARK_OPENAI_MODEL,
            ...backendCommon,
          }
        : e.HALLMARK_BACKEND === "comfyui"
          ? {
              kind: "comfyui",
              url: e.HALLMARK_COMFYUI_URL!,
              workflow: resolved(e.HALLMARK_COMFYUI_WORKFLOW),
              editWorkflow:
                e.HALLMARK_COMFYUI_EDIT_WORKFLOW === "off"
                  ? "off"
                  : resolved(e.HALLMARK_COMFYUI_EDIT_WORKFLOW),
              checkpoint: e.HALLMARK_COMFYUI_CHECKPOINT,
              ...backendCommon,
            }
          : e.HALLMARK_BACKEND === "embedded"
            ? { kind: "embedded", steps: e.HALLMARK_EMBEDDED_STEPS, ...backendCommon }
            : e.HALLMARK_BACKEND === "onnx-sd"
              ? {
                  kind: "onnx-sd",
                  dir: resolved(e.HALLMARK_ONNX_SD_DIR)!,
                  modelId: e.HALLMARK_ONNX_SD_MODEL,
                  steps: e.HALLMARK_ONNX_SD_STEPS,
                  sampler: e.HALLMARK_ONNX_SD_SAMPLER,
                  guidanceScale: e.HALLMARK_ONNX_SD_GUIDANCE,
                  provider: e.HALLMARK_ONNX_SD_PROVIDER,
                  ...backendCommon,
                }
              : { kind: "placeholder", ...backendCommon };
  const backends = e.HALLMARK_BACKENDS_FILE
    ? parseBackendsFile(
        readBackendsFile(resolved(e.HALLMARK_BACKENDS_FILE)!),
        e.HALLMARK_BACKENDS_FILE,
        env,
        backendCommon,
      )
    : undefined;
  return {
    host: e.HALLMARK_HOST,
    port: e.HALLMARK_PORT,
    dataDir: path.resolve(e.HALLMARK_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    policyFile: path.resolve(
      e.HALLMARK_POLICY_FILE ?? path.join(PACKAGE_ROOT, "policies/default.yaml"),
    ),
    policy: { cacheMs: e.HALLMARK_POLICY_CACHE_MS, watch: e.HALLMARK_POLICY_WATCH },
    authCacheMs: e.HALLMARK_AUTH_CACHE_MS,
    authFailuresPerMinute: e.HALLMARK_AUTH_FAILURES_PER_MINUTE,
    licenceDir: path.resolve(
      e.HALLMARK_LICENCE_DIR ?? path.join(PACKAGE_ROOT, "policies/licences"),
    ),
    lexiconDir: path.resolve(
      e.HALLMARK_LEXICON_DIR ?? path.join(PACKAGE_ROOT, "policies/lexicons"),
    ),
    publicFiguresDir: path.join(PACKAGE_ROOT, "policies/public-figures"),
    modelsDir: path.resolve(e.HALLMARK_MODELS_DIR ?? path.join(PACKAGE_ROOT, "models")),
    logLevel: e.HALLMARK_LOG_LEVEL,
    publicUrl: (e.HALLMARK_PUBLIC_URL ?? `http://${e.HALLMARK_HOST}:${e.HALLMARK_PORT}`).replace(
      /\/$/,
      "",
    ),
    stageTimeoutsMs: {
      screen_prompt: e.HALLMARK_STAGE_TIMEOUT_SCREEN_PROMPT_MS,
      screen_input: e.HALLMARK_STAGE_TIMEOUT_SCREEN_INPUT_MS,
      screen_output: e.HALLMARK_STAGE_TIMEOUT_SCREEN_OUTPUT_MS,
      watermark: e.HALLMARK_STAGE_TIMEOUT_WATERMARK_MS,
      c2pa: e.HALLMARK_STAGE_TIMEOUT_C2PA_MS,
    },
    limits: {
      maxPromptChars: e.HALLMARK_MAX_PROMPT_CHARS,
      maxBodyBytes: e.HALLMARK_MAX_BODY_BYTES,
      maxImages: e.HALLMARK_MAX_IMAGES,
      maxPixels: e.HALLMARK_MAX_PIXELS,
      maxInputPixels: e.HALLMARK_MAX_INPUT_PIXELS,
      maxInputBytes: e.HALLMARK_MAX_INPUT_BYTES,
      maxEditImages: e.HALLMARK_MAX_EDIT_IMAGES,
      maxModerationInputs: e.HALLMARK_MAX_MODERATION_INPUTS,
      maxModerationImages: e.HALLMARK_MAX_MODERATION_IMAGES,
      moderationRemoteImages: e.HALLMARK_MODERATION_REMOTE_IMAGES
        ? {
            timeoutMs: e.HALLMARK_MODERATION_REMOTE_TIMEOUT_MS,
            maxBytes: e.HALLMARK_MAX_INPUT_BYTES,
          }
        : null,
      sizes: e.HALLMARK_SIZES,
      defaultSize: e.HALLMARK_DEFAULT_SIZE,
      requestTimeoutMs: e.HALLMARK_REQUEST_TIMEOUT_MS,
    },
    backend: backends
      ? backends.backends.find((b) => b.name === backends.default)!.config
      : backend,
    backends,
    c2pa: {
      certFile: resolved(e.HALLMARK_C2PA_CERT_FILE),
      keyFile: resolved(e.HALLMARK_C2PA_KEY_FILE),
      chainFile: resolved(e.HALLMARK_C2PA_CHAIN_FILE),
      remote: e.HALLMARK_C2PA_REMOTE_URL
        ? {
            url: e.HALLMARK_C2PA_REMOTE_URL,
            token: e.HALLMARK_C2PA_REMOTE_TOKEN,
            keyId: e.HALLMARK_C2PA_REMOTE_KEY_ID,
          }
        : undefined,
      trustAnchorsFile: resolved(e.HALLMARK_C2PA_TRUST_ANCHORS),
      trustListFile: resolved(e.HALLMARK_C2PA_TRUST_LIST),
      tsa: e.HALLMARK_TSA_URL
        ? {
            url: e.HALLMARK_TSA_URL,
            required: e.HALLMARK_TSA_REQUIRED,
            trustAnchorsFile: resolved(e.HALLMARK_TSA_ANCHORS),
          }
        : undefined,
      workers: e.HALLMARK_C2PA_WORKERS,
    },
    cpuThreads: e.HALLMARK_CPU_THREADS,
    screeningLayout: e.HALLMARK_SCREENING_LAYOUT,
    malloc: { setting: e.HALLMARK_MALLOC, glibcTunables: mallocTunablesInForce(env) },
    watermark: {
      keyFile: resolved(e.HALLMARK_WATERMARK_KEY_FILE),
      issuerKeyId: e.HALLMARK_WATERMARK_ISSUER_ID,
    },
    ocr: {
      detectionSide: e.HALLMARK_OCR_DETECTION_SIDE,
      turnedPasses: e.HALLMARK_OCR_TURNED_PASSES,
      turnedPassGate: e.HALLMARK_OCR_TURNED_PASS_GATE,
      detectorPrecision: e.HALLMARK_OCR_DETECTOR_PRECISION,
      wideThreads: e.HALLMARK_OCR_WIDE_THREADS,
    },
    hashLists: {
      files: (e.HALLMARK_HASH_LISTS ?? []).map((f) => path.resolve(f)),
      threshold: e.HALLMARK_HASH_THRESHOLD,
    },
    auditLog: {
      origin:
        e.HALLMARK_LOG_ORIGIN ??
        `${new URL(e.HALLMARK_PUBLIC_URL ?? `http://${e.HALLMARK_HOST}:${e.HALLMARK_PORT}`).host}/hallmark/audit`,
      keyFile: resolved(e.HALLMARK_LOG_KEY_FILE),
      everyEntries: e.HALLMARK_CHECKPOINT_EVERY_ENTRIES,
      everySeconds: e.HALLMARK_CHECKPOINT_EVERY_SECONDS,
    },
    bootstrap: e.HALLMARK_BOOTSTRAP,
    rateLimits: {
      rps: e.HALLMARK_RATE_LIMIT_RPS,
      burst: e.HALLMARK_RATE_LIMIT_BURST,
      keyRps: e.HALLMARK_RATE_LIMIT_KEY_RPS,
      keyBurst: e.HALLMARK_RATE_LIMIT_KEY_BURST,
      imagesPerDay: e.HALLMARK_QUOTA_IMAGES_PER_DAY,
      imagesPerMonth: e.HALLMARK_QUOTA_IMAGES_PER_MONTH,
      cacheMs: e.HALLMARK_LIMITS_CACHE_MS,
      redisUrl: e.HALLMARK_REDIS_URL,
      redisTimeoutMs: e.HALLMARK_REDIS_TIMEOUT_MS,
      verifyRequiresKey: e.HALLMARK_VERIFY_REQUIRES_KEY,
      quotaHoldMs: e.HALLMARK_QUOTA_HOLD_SECONDS * 1000,
    },
    delivery: {
      idempotencyTtlHours: e.HALLMARK_IDEMPOTENCY_TTL_HOURS,
      outputKeyFile: resolved(e.HALLMARK_OUTPUT_KEY_FILE),
      outputRetentionHours: e.HALLMARK_OUTPUT_RETENTION_HOURS,
      holdRetentionHours: e.HALLMARK_HOLD_RETENTION_HOURS,
      holdForReview: e.HALLMARK_HOLD_FOR_REVIEW,
      jobExpireSeconds: e.HALLMARK_JOB_EXPIRE_SECONDS,
      jobRetries: e.HALLMARK_JOB_RETRIES,
      workerConcurrency: e.HALLMARK_WORKER_CONCURRENCY,
      workerPollSeconds: e.HALLMARK_WORKER_POLL_SECONDS,
      // The embedded database cannot be opened by a second process: its worker runs in serve.
      workerInServe: e.HALLMARK_WORKER_IN_SERVE ?? !e.DATABASE_URL,
      webhook: {
        secretFile: resolved(e.HALLMARK_WEBHOOK_SECRET_FILE),
        allowPrivate: e.HALLMARK_WEBHOOK_ALLOW_PRIVATE,
        allowedHosts: e.HALLMARK_WEBHOOK_ALLOWED_HOSTS,
        timeoutMs: e.HALLMARK_WEBHOOK_TIMEOUT_MS,
        retries: e.HALLMARK_WEBHOOK_RETRIES,
      },
    },
    review: {
      trustProxy: e.HALLMARK_TRUST_PROXY,
      login: {
        maxFailures: e.HALLMARK_REVIEW_LOGIN_MAX_FAILURES,
        maxFailuresPerIp: e.HALLMARK_REVIEW_LOGIN_MAX_FAILURES_PER_IP,
        windowS: e.HALLMARK_REVIEW_LOGIN_WINDOW_S,
      },
    },
    operations: {
      metrics: e.HALLMARK_METRICS === "on",
      metricsToken: e.HALLMARK_METRICS_TOKEN,
      otlpEndpoint: e.HALLMARK_OTLP_ENDPOINT,
      shutdownDeadlineMs: e.HALLMARK_SHUTDOWN_DEADLINE_MS,
      corsOrigins: e.HALLMARK_CORS_ORIGINS ?? [],
    },
  };
}

function resolved(file: string | undefined): string | undefined {
  return file === undefined ? undefined : path.resolve(file);
}

function configError(error: z.ZodError): HallmarkError {
  const lines = error.issues.map((i) => `${i.path.join(".") || "(environment)"}: ${i.message}`);
  return new HallmarkError("config_error", `Invalid configuration:\n  ${lines.join("\n  ")}`);
}

function readBackendsFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new HallmarkError(
      "config_error",
      `HALLMARK_BACKENDS_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
}
