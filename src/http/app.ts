import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { createRemoteImageFetcher } from "../classify/image/index.js";
import type { TextClassifier } from "../classify/text/index.js";
import type { Config } from "../config/index.js";
import type { Db } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import type { Delivery } from "../jobs/index.js";
import type { Limits } from "../limits/index.js";
import type { Logger } from "../log/index.js";
import type { PipelineDeps } from "../pipeline/index.js";
import type { Policy, PolicyStore } from "../policy/index.js";
import { type ReviewOptions, reviewApp } from "../review/index.js";
import { type Authenticate, type AuthThrottle, authenticate } from "../tenants/index.js";
import { clientAddress } from "./client-address.js";
import type { AppEnv } from "./context.js";
import { errorResponse } from "./errors.js";
import { type AuthGuard, bearerAuth as keyAuth } from "./middleware/auth.js";
import { idempotency } from "./middleware/idempotency.js";
import { rateLimit } from "./middleware/rate-limit.js";
import { imageQuota } from "./middleware/rate-limit-quota.js";
import { requestId } from "./middleware/request-id.js";
import { requireMediaType } from "./middleware/require-media-type.js";
import { type Operations, registerOperationsRoutes, useOperations } from "./operations.js";
import { registerAdminPolicy } from "./routes/admin-policy.js";
import { registerGenerationsGet } from "./routes/generations-get.js";
import { type ReadinessCheck, registerHealth } from "./routes/health.js";
import { registerImagesEdits } from "./routes/images-edits.js";
import { registerImagesGenerations } from "./routes/images-generations.js";
import { registerImagesVariations } from "./routes/images-variations.js";
import { registerLog } from "./routes/log.js";
import { registerModels } from "./routes/models.js";
import { registerModerations } from "./routes/moderations.js";
import { registerProvenanceVerify } from "./routes/provenance-verify.js";
import { registerUsage } from "./routes/usage.js";
import { validationHook } from "./validation.js";

export interface AppDeps {
  db: Db;
  pipeline: PipelineDeps;
  text: TextClassifier;
  policy: Policy;
  /** Tenant policies and declarations: the admin policy routes (docs/policies.md). */
  policies?: PolicyStore;
  logger: Logger;
  limits: Config["limits"];
  readiness: ReadinessCheck[];
  version: string;
  /** PDQ distance for "similar images made here" in verify. */
  pdqThreshold: number;
  /** Per-tenant rate limits and image quotas (docs/limits.md); absent: none, and no usage routes. */
  rateLimits?: Limits;
  /** POST /v1/provenance/verify needs a `verify` key (and counts against its rate limit). */
  verifyRequiresKey?: boolean;
  /** Metrics, tracing, time limits, shutdown, CORS (docs/operations.md). */
  operations?: Operations;
  /** Idempotency keys, async jobs, review holds and stored outputs (docs/async.md). */
  delivery?: Delivery;
  /** API-key lookups (a short cache of keys that succeeded); absent: every request asks `db`. */
  authenticate?: Authenticate;
  /** Wrong keys counted per client address (HALLMARK_AUTH_FAILURES_PER_MINUTE); absent: none. */
  authThrottle?: AuthThrottle;
  /** The review workspace's login limits and proxy trust (docs/review.md). */
  review?: ReviewOptions;
}

/**
 * The Hono app: middleware (request id, body limit, auth), the routes, and the one mapping of
 * errors to HTTP. Everything it uses is passed in.
 *
 * @example serve({ fetch: createApp(deps).fetch, port: 8080 })
 */
const passThrough: MiddlewareHandler<AppEnv> = (_c, next) => next();

export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", requestId(deps.logger));
  useOperations(app, deps.logger, deps.operations);
  app.onError((error, c) => errorResponse(c, error));
  app.notFound((c) =>
    errorResponse(c, new HallmarkError("not_found", `No route for ${c.req.method} ${c.req.path}.`)),
  );
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: deps.limits.maxBodyBytes,
      onError: () => {
        throw new HallmarkError(
          "payload_too_large",
          `The request body exceeds the limit of ${deps.limits.maxBodyBytes} bytes.`,
        );
      },
    }),
  );

  // Scopes (docs/limits.md): images `generate`; moderation `moderate`; reading one's own
  // generation records and usage `generate` or `audit-read`; every tenant's usage `admin`;
  // verify is public unless HALLMARK_VERIFY_REQUIRES_KEY. After authentication each request
  // counts against its tenant's rate limit, and image requests against its image quotas.
  const limited = deps.rateLimits ? rateLimit(deps.rateLimits) : passThrough;
  const quota = deps.rateLimits
    ? imageQuota(deps.rateLimits, { maxImages: deps.limits.maxImages })
    : passThrough;
  const reading = ["generate", "audit-read"] as const;
  const authenticateKey = deps.authenticate ?? ((key: string) => authenticate(deps.db, key));
  const trustProxy = deps.review?.trustProxy ?? false;
  const guard: AuthGuard | undefined = deps.authThrottle && {
    throttle: deps.authThrottle,
    address: (c) => clientAddress(c, trustProxy),
  };
  const bearerAuth = (scope: string | readonly string[]) => keyAuth(authenticateKey, scope, guard);
  // Idempotency-Key (generations and edits) after the rate limit, before the quota: a replay is
  // a request but makes no image.
  const idem = deps.delivery
    ? idempotency({ db: deps.db, outputs: deps.delivery.outputs, ...deps.delivery.idempotency })
    : passThrough;
  app.use("/v1/images/*", bearerAuth("generate"), limited, idem, quota);
  app.use("/v1/moderations", bearerAuth("moderate"), limited);
  app.use("/v1/models", bearerAuth("generate"), limited);
  app.use("/v1/models/*", bearerAuth("generate"), limited);
  app.on("GET", "/v1/generations/*", bearerAuth(reading), limited);
  app.on(["POST", "PUT", "PATCH", "DELETE"], "/v1/generations/*", bearerAuth("generate"));
  app.use("/v1/generations/*", limited);
  app.use("/v1/usage", bearerAuth(reading), limited);
  app.use("/v1/admin/*", bearerAuth("admin"), limited);
  if (deps.verifyRequiresKey) {
    app.use("/v1/provenance/verify", bearerAuth("verify"), limited);
  }
  app.use("/v1/images/generations", requireMediaType(["application/json"]));
  app.use("/v1/images/edits", requireMediaType(["multipart/form-data"]));
  app.use("/v1/images/variations", requireMediaType(["multipart/form-data"]));
  app.use("/v1/moderations", requireMediaType(["application/json"]));

  registerHealth(app, deps.readiness);
  registerImagesGenerations(app, {
    pipeline: deps.pipeline,
    limits: deps.limits,
    db: deps.db,
    delivery: deps.delivery,
  });
  registerImagesEdits(app, {
    pipeline: deps.pipeline,
    limits: deps.limits,
    delivery: deps.delivery,
  });
  registerImagesVariations(app, {
    pipeline: deps.pipeline,
    limits: deps.limits,
    delivery: deps.delivery,
  });
  registerModels(app, { pipeline: deps.pipeline });
  registerModerations(app, {
    text: deps.text,
    // Read per request: a reloaded policy is in force at once.
    get policy() {
      return deps.pipeline.policy;
    },
    policies: deps.policies, // the caller's tenant's effective policy decides
    maxChars: deps.limits.maxPromptChars,
    maxInputs: deps.limits.maxModerationInputs,
    image: deps.pipeline.image,
    // HALLMARK_MODERATION_REMOTE_IMAGES: remote image URLs fetched with SSRF checks; else refused.
    fetchImage: deps.limits.moderationRemoteImages
      ? createRemoteImageFetcher(deps.limits.moderationRemoteImages)
      : undefined,
    maxImages: deps.limits.maxModerationImages,
  });
  registerProvenanceVerify(app, {
    db: deps.db,
    maxInputPixels: deps.limits.maxInputPixels,
    c2pa: deps.pipeline.c2pa,
    watermark: deps.pipeline.watermark?.watermarker,
    pdq: deps.pipeline.pdq,
    pdqThreshold: deps.pdqThreshold,
  });
  registerGenerationsGet(app, { db: deps.db, delivery: deps.delivery });
  if (deps.rateLimits) registerUsage(app, { db: deps.db, limits: deps.rateLimits });
  registerLog(app, { db: deps.db });
  if (deps.policies) registerAdminPolicy(app, { db: deps.db, policies: deps.policies });
  app.route(
    "/review",
    reviewApp({
      db: deps.db,
      ...deps.review,
      authThrottle: deps.authThrottle,
      provenance: { c2pa: deps.pipeline.c2pa, outputs: deps.delivery?.outputs },
    }),
  );
  registerOperationsRoutes(app, deps.operations);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Hallmark",
      version: deps.version,
      description: "Provenance and content-policy gateway",
    },
  });
  return app;
}
