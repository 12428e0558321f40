import { z } from "zod";

/** `WxH` with both sides in pixels, e.g. `512x512`. */
const SIZE_RE = /^(\d{2,5})x(\d{2,5})$/;

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const sizeList = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(SIZE_RE, "expected a comma-separated list of WxH sizes")).min(1));

/** Two diagonal OCR passes (see HALLMARK_OCR_TURNED_PASSES). */
export const DEFAULT_OCR_TURNED_PASSES = "640:30,640:-30";

const boolFlag = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

/**
 * Every environment variable Hallmark reads, with its default. Keys are the variable names so
 * that a validation error names the variable the operator has to fix.
 */
export const envSchema = z.object({
  HALLMARK_HOST: z.string().min(1).default("127.0.0.1"),
  HALLMARK_PORT: port.default(8080),
  HALLMARK_DATA_DIR: z.string().min(1).default("./data"),
  /** postgres://… for PostgreSQL; absent means the embedded PGlite database under the data dir. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "expected a postgres:// or postgresql:// URL")
    .optional(),
  /** The policy file; absent means the packaged policies/default.yaml. */
  HALLMARK_POLICY_FILE: z.string().min(1).optional(),
  /** How long a replica trusts its cached tenant policy before a cheap freshness check (0: every request). */
  HALLMARK_POLICY_CACHE_MS: z.coerce.number().int().min(0).max(600_000).default(1000),
  /**
   * How long a replica trusts an API key that authenticated before asking the database again
   * (0: every request asks). Bounds how long a revoked key can still be used (docs/limits.md).
   */
  HALLMARK_AUTH_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /**
   * Wrong API keys one client address may send per minute, per replica, before it is refused
   * with 429 until its allowance refills (0: no limit). Each wrong key costs a database lookup.
   */
  HALLMARK_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(30),
  /** Reload the policies when a file in the policy folder changes (SIGHUP always reloads). */
  HALLMARK_POLICY_WATCH: boolFlag.default(true),
  /** Folder of lexicons (per language and category); absent means the packaged policies/lexicons. */
  HALLMARK_LEXICON_DIR: z.string().min(1).optional(),
  /** The licence registry (one YAML per licence, models.yaml); absent: the packaged policies/licences. */
  HALLMARK_LICENCE_DIR: z.string().min(1).optional(),
  /** Folder of ONNX models with their cards; absent means the packaged models/. */
  HALLMARK_MODELS_DIR: z.string().min(1).optional(),
  HALLMARK_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** Public base URL used in links (C2PA audit URLs); defaults to http://host:port. */
  HALLMARK_PUBLIC_URL: z.string().url().optional(),

  HALLMARK_MAX_PROMPT_CHARS: positiveInt.default(4000),
  HALLMARK_MAX_BODY_BYTES: positiveInt.default(20 * 1024 * 1024),
  HALLMARK_MAX_IMAGES: positiveInt.max(16).default(4),
  HALLMARK_MAX_PIXELS: positiveInt.default(1536 * 1536),
  /** Maximum pixels of an uploaded image (verify, edits) that is decoded at all. */
  HALLMARK_MAX_INPUT_PIXELS: positiveInt.default(50_000_000),
  /** Largest uploaded image file (edits' `image` and `mask`), in bytes. */
  HALLMARK_MAX_INPUT_BYTES: positiveInt.default(16 * 1024 * 1024),
  /** Most input images in one edit (`image[]`; OpenAI's gpt-image-1 takes 16). */
  HALLMARK_MAX_EDIT_IMAGES: positiveInt.max(64).default(16),
  HALLMARK_SIZES: sizeList.default([
    "256x256",
    "512x512",
    "768x768",
    "1024x1024",
    "1024x1536",
    "1536x1024",
    "1024x1792",
    "1792x1024",
  ]),
  HALLMARK_DEFAULT_SIZE: z.string().regex(SIZE_RE).default("512x512"),
  /** Maximum entries in one /v1/moderations request. */
  HALLMARK_MAX_MODERATION_INPUTS: positiveInt.default(64),
  /** Maximum images (data URLs) in one /v1/moderations request: each is fully screened. */
  HALLMARK_MAX_MODERATION_IMAGES: positiveInt.default(4),
  /**
   * Fetch remote `image_url` URLs in /v1/moderations (http/https, public addresses only, SSRF
   * checks in src/classify/image/remote-fetch.ts); off: they are refused with a 400.
   */
  HALLMARK_MODERATION_REMOTE_IMAGES: boolFlag.default(false),
  /** One deadline for fetching a remote moderation image (DNS, redirects and body), ms. */
  HALLMARK_MODERATION_REMOTE_TIMEOUT_MS: positiveInt.max(60_000).default(5_000),

  /**
   * `embedded` (the bundled diffusion model), `onnx-sd` (a Stable Diffusion ONNX export folder),
   * `placeholder` (procedural image, no model), `automatic1111`, `openai` or `comfyui`.
   */
  HALLMARK_BACKEND: z
    .enum(["embedded", "onnx-sd", "placeholder", "automatic1111", "openai", "comfyui"])
    .default("embedded"),
  /**
   * A YAML file of several backends and the models each serves (docs/backends.md); requests are
   * routed by `model`. Overrides HALLMARK_BACKEND and its variables.
   */
  HALLMARK_BACKENDS_FILE: z.string().min(1).optional(),
  /** Denoising steps of the embedded model. */
  HALLMARK_EMBEDDED_STEPS: z.coerce.number().int().min(1).max(200).default(20),
  /** A Stable Diffusion ONNX export folder (optimum / diffusers layout) for HALLMARK_BACKEND=onnx-sd. */
  HALLMARK_ONNX_SD_DIR: z.string().min(1).optional(),
  /** The model id recorded and licence-checked; absent: the folder's name. */
  HALLMARK_ONNX_SD_MODEL: z.string().min(1).optional(),
  HALLMARK_ONNX_SD_STEPS: z.coerce.number().int().min(1).max(200).default(25),
  /** Absent: from the export's scheduler_config.json (Euler ancestral when it names another). */
  HALLMARK_ONNX_SD_SAMPLER: z.enum(["euler_a", "euler", "ddim"]).optional(),
  /** Classifier-free guidance; 1 or less turns it off (SD-Turbo). */
  HALLMARK_ONNX_SD_GUIDANCE: z.coerce.number().min(0).max(30).default(7.5),
  /** `auto`: CUDA when onnxruntime-node has its CUDA provider, else CPU. */
  HALLMARK_ONNX_SD_PROVIDER: z.enum(["auto", "cuda", "cpu"]).default("auto"),
  HALLMARK_A1111_URL: z.string().url().optional(),
  /** An OpenAI-compatible images service (POST {url}/v1/images/generations). */
  HALLMARK_OPENAI_URL: z.string().url().default("https://api.openai.com"),
  HALLMARK_OPENAI_API_KEY: z.string().min(1).optional(),
  HALLMARK_OPENAI_MODEL: z.string().min(1).default("gpt-image-1"),
  HALLMARK_COMFYUI_URL: z.string().url().optional(),
  /** A ComfyUI API-format workflow with {{prompt}}, {{seed}}, … placeholders; absent: the bundled txt2img. */
  HALLMARK_COMFYUI_WORKFLOW: z.string().min(1).optional(),
  HALLMARK_COMFYUI_CHECKPOINT: z.string().min(1).default("v1-5-pruned-emaonly.safetensors"),
  /** An API-format img2img workflow with {{image}} (and {{denoise}}); absent: the bundled one; `off`: no edits. */
  HALLMARK_COMFYUI_EDIT_WORKFLOW: z.string().min(1).optional(),
  /** Retries of failures that are safe to retry (connection refused, 502/503 before any work). */
  HALLMARK_BACKEND_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  /** Consecutive failures that open the backend's circuit breaker, and how long it stays open. */
  HALLMARK_BREAKER_FAILURES: positiveInt.default(5),
  HALLMARK_BREAKER_COOLDOWN_MS: positiveInt.default(30_000),
  HALLMARK_BACKEND_TIMEOUT_MS: positiveInt.default(120_000),
  HALLMARK_BACKEND_CONCURRENCY: positiveInt.default(4),
  HALLMARK_BACKEND_QUEUE: z.coerce.number().int().min(0).default(32),
  HALLMARK_REQUEST_TIMEOUT_MS: positiveInt.default(180_000),
  /**
   * Time limit of each stage the policy's `on_failure` governs: one that runs longer fails like
   * one that errors (fail-closed 503 unless the tenant's policy says open; docs/policies.md).
   * C2PA stays under the recorder's 60 s seal limit so that the policy, not the recorder, decides.
   */
  HALLMARK_STAGE_TIMEOUT_SCREEN_PROMPT_MS: positiveInt.max(600_000).default(15_000),
  HALLMARK_STAGE_TIMEOUT_SCREEN_INPUT_MS: positiveInt.max(600_000).default(60_000),
  HALLMARK_STAGE_TIMEOUT_SCREEN_OUTPUT_MS: positiveInt.max(600_000).default(60_000),
  HALLMARK_STAGE_TIMEOUT_WATERMARK_MS: positiveInt.max(600_000).default(60_000),
  HALLMARK_STAGE_TIMEOUT_C2PA_MS: positiveInt.max(55_000).default(30_000),
  /** C2PA signer certificate (PEM, signer first, then issuers); absent: development credentials. */
  HALLMARK_C2PA_CERT_FILE: z.string().min(1).optional(),
  HALLMARK_C2PA_KEY_FILE: z.string().min(1).optional(),
  HALLMARK_C2PA_CHAIN_FILE: z.string().min(1).optional(),
  /** Sign through a KMS/HSM front that signs digests (docs/c2pa.md); the cert file holds the chain. */
  HALLMARK_C2PA_REMOTE_URL: z.string().url().optional(),
  HALLMARK_C2PA_REMOTE_TOKEN: z.string().min(1).optional(),
  HALLMARK_C2PA_REMOTE_KEY_ID: z.string().min(1).optional(),
  /** PEM bundle of signer trust anchors used when reading manifests. */
  HALLMARK_C2PA_TRUST_ANCHORS: z.string().min(1).optional(),
  /** A further PEM file of signer trust anchors (e.g. the C2PA trust list). */
  HALLMARK_C2PA_TRUST_LIST: z.string().min(1).optional(),
  /** RFC 3161 time-stamp authority; with HALLMARK_TSA_REQUIRED=true (default) a failed stamp fails the request. */
  HALLMARK_TSA_URL: z.string().url().optional(),
  HALLMARK_TSA_REQUIRED: boolFlag.default(true),
  HALLMARK_TSA_ANCHORS: z.string().min(1).optional(),
  /** Worker threads that sign and read manifests (0: in the main thread). */
  HALLMARK_C2PA_WORKERS: z.coerce.number().int().min(0).max(32).default(2),
  /** The audit log's origin (its checkpoint key's name); absent: `<public host>/hallmark/audit`. */
  HALLMARK_LOG_ORIGIN: z.string().min(1).max(200).optional(),
  /** The checkpoint signing key; absent: `<data dir>/audit-log.key`, generated on first start. */
  HALLMARK_LOG_KEY_FILE: z.string().min(1).optional(),
  HALLMARK_CHECKPOINT_EVERY_ENTRIES: positiveInt.default(1000),
  HALLMARK_CHECKPOINT_EVERY_SECONDS: positiveInt.default(10),
  /** Operator hash lists (CSV of `hash,label`, comma-separated paths): a match refuses the output. */
  HALLMARK_HASH_LISTS: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .optional(),
  /**
   * The long side, in pixels, that the upright OCR detection pass sees (PaddleOCR's
   * det_limit_side_len; larger images are shrunk to it, rounded to multiples of 32). Its cost
   * grows with its square; smaller loses small letters (docs/image-screening.md).
   */
  HALLMARK_OCR_DETECTION_SIDE: z.coerce.number().int().min(320).max(1920).default(960),
  /**
   * The turned OCR passes run only on images whose upright pass's text probability map peaks at
   * or above this, 0–1 (0: on every image). Most photos peak near 0; every mark only a turned
   * pass read peaked at 1 upright (docs/image-screening.md).
   */
  HALLMARK_OCR_TURNED_PASS_GATE: z.coerce.number().min(0).max(1).default(0.1),
  /**
   * The OCR text detector's precision: `float` (as PaddleOCR ships it) or `int8` (quantised as
   * it loads with the ranges in models/ocr/detector-int8-ranges.json: about 0.6× the
   * detector's CPU, at the recall measured in docs/image-screening.md).
   */
  HALLMARK_OCR_DETECTOR_PRECISION: z.enum(["float", "int8"]).default("float"),
  /**
   * ONNX Runtime threads of the OCR sessions on the shared layout's text thread (threads that do
   * not spin). In the per-thread layout: the text detector's threads when the CPU pool is
   * otherwise idle (one image's screening split over two idle threads), a second detector session
   * per pool thread; 1: off (docs/image-screening.md).
   */
  HALLMARK_OCR_WIDE_THREADS: z.coerce.number().int().min(1).max(64).default(2),
  /**
   * OCR detection passes over turned copies of each image, `side:degrees` comma-separated
   * (side: the long side the detector sees, 160–1920 px; degrees: clockwise, -89 to 89, not 0),
   * at most 4; `off`: none. Diagonal marks the upright pass loses (docs/image-screening.md).
   */
  HALLMARK_OCR_TURNED_PASSES: z
    .string()
    .default(DEFAULT_OCR_TURNED_PASSES)
    .transform((s, ctx) => {
      const text = s.trim();
      if (text === "off" || text === "") return [];
      const passes = text.split(",").map((p) => {
        const m = /^\s*(\d{3,4})\s*:\s*(-?\d{1,2})\s*$/.exec(p);
        const side = Number(m?.[1]);
        const degrees = Number(m?.[2]);
        const ok = m && side >= 160 && side <= 1920 && degrees !== 0 && Math.abs(degrees) <= 89;
        return ok ? { side, degrees } : null;
      });
      if (passes.some((p) => p === null) || passes.length > 4) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: "expected up to 4 side:degrees passes (e.g. 640:30,640:-30), or off",
        });
        return z.NEVER;
      }
      return passes as Array<{ side: number; degrees: number }>;
    }),
  /** PDQ Hamming distance at or under which a hash-list entry matches (Meta suggests 31). */
  HALLMARK_HASH_THRESHOLD: z.coerce.number().int().min(0).max(128).default(31),
  /** The secret watermark embedding key; absent: `<data dir>/watermark.key`, generated on first start. */
  HALLMARK_WATERMARK_KEY_FILE: z.string().min(1).optional(),
  /** The 16-bit issuer key id every mark carries; absent: derived from the key's fingerprint. */
  HALLMARK_WATERMARK_ISSUER_ID: z.coerce.number().int().min(0).max(65535).optional(),
  /** Worker threads for CPU-bound image work (watermark, PDQ); 0: run it on the event loop. */
  HALLMARK_CPU_THREADS: z.coerce.number().int().min(0).max(64).default(2),
  /**
   * Where the image models live when HALLMARK_CPU_THREADS > 0: `shared`, one copy of each per
   * two pool threads (the text reader on threads of its own); `per-thread`, a copy on every pool
   * thread, more memory for throughput under load (src/workers/pool.ts, docs/image-screening.md).
   */
  HALLMARK_SCREENING_LAYOUT: z.enum(["shared", "per-thread"]).default("shared"),
  /**
   * glibc's allocator settings, applied by bin/hallmark before node starts: `compact`, two
   * arenas and large buffers given back when freed (less resident memory); `system`, glibc's
   * defaults (src/runtime/malloc.ts, docs/operations.md). Read here so that a bad value stops
   * the process with the variable's name.
   */
  HALLMARK_MALLOC: z.enum(["compact", "system"]).default("compact"),
  /** Write a bootstrap API key on first start with an empty database. */
  HALLMARK_BOOTSTRAP: boolFlag.default(true),
  /** Requests per second per tenant (GCRA, shared by all replicas); 0: no rate limit (docs/limits.md). */
  HALLMARK_RATE_LIMIT_RPS: z.coerce.number().min(0).max(1_000_000).default(100),
  /** Requests a tenant may make at once on a full bucket. */
  HALLMARK_RATE_LIMIT_BURST: z.coerce.number().int().min(1).max(1_000_000_000).default(200),
  /** A further limit per API key, within its tenant's (0: none), and that key limit's burst. */
  HALLMARK_RATE_LIMIT_KEY_RPS: z.coerce.number().min(0).max(1_000_000).default(0),
  HALLMARK_RATE_LIMIT_KEY_BURST: z.coerce.number().int().min(1).max(1_000_000_000).default(20),
  /** Images per tenant per UTC day / month; 0: no quota. Tenants may override (tenant limits). */
  HALLMARK_QUOTA_IMAGES_PER_DAY: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
  HALLMARK_QUOTA_IMAGES_PER_MONTH: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
  /**
   * Seconds a quota reservation stands unsettled before it is given back (its replica is
   * presumed dead); must exceed HALLMARK_REQUEST_TIMEOUT_MS.
   */
  HALLMARK_QUOTA_HOLD_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  /** How long a replica caches a tenant's limit overrides (ms; 0: read them on every request). */
  HALLMARK_LIMITS_CACHE_MS: z.coerce.number().int().min(0).max(3_600_000).default(5000),
  /** redis:// URL: keep rate-limit and quota state in Redis instead of PostgreSQL. */
  HALLMARK_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "expected a redis:// or rediss:// URL")
    .optional(),
  /** How long a Redis command may take before the request is answered 503. */
  HALLMARK_REDIS_TIMEOUT_MS: positiveInt.max(60_000).default(1000),
  /** Believe X-Forwarded-Proto / X-Forwarded-For (set only behind a proxy that sets them). */
  HALLMARK_TRUST_PROXY: boolFlag.default(false),
  /** Review workspace: failed logins per username / per client address within the window. */
  HALLMARK_REVIEW_LOGIN_MAX_FAILURES: positiveInt.max(1000).default(5),
  HALLMARK_REVIEW_LOGIN_MAX_FAILURES_PER_IP: positiveInt.max(100_000).default(20),
  HALLMARK_REVIEW_LOGIN_WINDOW_S: positiveInt.max(86_400).default(900),
  /** Require a key with the `verify` scope for POST /v1/provenance/verify (default: public). */
  HALLMARK_VERIFY_REQUIRES_KEY: boolFlag.default(false),
  /** How long an Idempotency-Key (and the response it replays) is kept, in hours. */
  HALLMARK_IDEMPOTENCY_TTL_HOURS: positiveInt.max(24 * 30).default(24),
  /** AES-256-GCM key (64 hex digits) sealing stored outputs; absent: `<data dir>/outputs.key`. */
  HALLMARK_OUTPUT_KEY_FILE: z.string().min(1).optional(),
  /** How long async results and released holds stay fetchable, in hours. */
  HALLMARK_OUTPUT_RETENTION_HOURS: positiveInt.max(24 * 90).default(24),
  /** How long a held (review) output is kept waiting for a reviewer, in hours. */
  HALLMARK_HOLD_RETENTION_HOURS: positiveInt.max(24 * 90).default(24 * 7),
  /** A review decision holds the generated images for a reviewer (202 held) instead of refusing. */
  HALLMARK_HOLD_FOR_REVIEW: boolFlag.default(true),
  /** Seconds a worker may hold a job before it is presumed dead and the job retried elsewhere. */
  HALLMARK_JOB_EXPIRE_SECONDS: positiveInt.max(23 * 3600).default(600),
  /** Retries of a job whose worker died (expired) before it recorded an outcome. */
  HALLMARK_JOB_RETRIES: z.coerce.number().int().min(0).max(20).default(3),
  /** Jobs one worker process runs at once. */
  HALLMARK_WORKER_CONCURRENCY: positiveInt.max(64).default(2),
  /** How often an idle worker asks for jobs, in seconds (pg-boss polls; 0.5 at least). */
  HALLMARK_WORKER_POLL_SECONDS: z.coerce.number().min(0.5).max(60).default(2),
  /** Run a worker inside `serve`; absent: yes on the embedded database, no on PostgreSQL. */
  HALLMARK_WORKER_IN_SERVE: boolFlag.optional(),
  /** Webhook signing secret (`whsec_` + base64, Standard Webhooks); absent: `<data dir>/webhook.secret`. */
  HALLMARK_WEBHOOK_SECRET_FILE: z.string().min(1).optional(),
  /** Let webhooks reach loopback, private and link-local addresses (off: SSRF protection). */
  HALLMARK_WEBHOOK_ALLOW_PRIVATE: boolFlag.default(false),
  /** Comma-separated host names webhooks may go to (absent: any public host). */
  HALLMARK_WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim().toLowerCase())
        .filter(Boolean),
    )
    .optional(),
  /** Per-attempt time limit of a webhook POST, and attempts before it is given up. */
  HALLMARK_WEBHOOK_TIMEOUT_MS: positiveInt.max(120_000).default(10_000),
  HALLMARK_WEBHOOK_RETRIES: z.coerce.number().int().min(0).max(20).default(6),
  /** Serve Prometheus metrics at GET /metrics (docs/operations.md). */
  HALLMARK_METRICS: z.enum(["on", "off"]).default("on"),
  /** When set, GET /metrics requires `Authorization: Bearer <this token>`; absent: open. */
  HALLMARK_METRICS_TOKEN: z.string().min(16, "use at least 16 characters").optional(),
  /** OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); absent: no tracing SDK. */
  HALLMARK_OTLP_ENDPOINT: z.string().url().optional(),
  /** On SIGTERM/SIGINT, how long in-flight requests may run before they are cancelled. */
  HALLMARK_SHUTDOWN_DEADLINE_MS: positiveInt.default(30_000),
  /** Comma-separated origins allowed by CORS (`*` for any); absent: no CORS headers at all. */
  HALLMARK_CORS_ORIGINS: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z.string().regex(/^(\*|https?:\/\/[^/\s,]+)$/, "expected origins like https://app.example"),
      ),
    )
    .optional(),
});

export type Env = z.infer<typeof envSchema>;

export function parseSize(size: string): { width: number; height: number } | null {
  const m = SIZE_RE.exec(size);
  if (!m) return null;
  return { width: Number(m[1]), height: Number(m[2]) };
}
