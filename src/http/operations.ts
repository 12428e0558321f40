import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Logger } from "../log/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Tracing } from "../telemetry/index.js";
import type { AppEnv } from "./context.js";
import { corsFor } from "./middleware/cors.js";
import { observeRequests } from "./middleware/metrics.js";
import { secure } from "./middleware/secure.js";
import type { RequestGate } from "./middleware/timeout.js";
import { registerMetrics } from "./routes/metrics.js";
import { registerReference } from "./routes/reference.js";

/** What running the gateway in production adds to the app (docs/operations.md). */
export interface Operations {
  /** Absent: HALLMARK_METRICS=off (no /metrics route, nothing counted). */
  metrics?: Metrics;
  /** When set, /metrics needs it as a bearer token. */
  metricsToken?: string;
  /** Absent: no OTLP endpoint configured. */
  tracing?: Tracing;
  /** Per-request time limit and graceful shutdown. */
  gate: RequestGate;
  /** Origins allowed by CORS; empty: CORS off. */
  corsOrigins: string[];
}

/**
 * Middleware that wraps every request, in this order: observation (log line, metrics, span),
 * the gate (time limit, shutdown), security headers, CORS (API paths only). Called right after
 * the request id middleware so that everything after it is observed and bounded.
 */
export function useOperations(app: OpenAPIHono<AppEnv>, logger: Logger, ops?: Operations): void {
  app.use("*", observeRequests({ logger, metrics: ops?.metrics, tracing: ops?.tracing }));
  if (ops) app.use("*", ops.gate.middleware);
  app.use("*", secure());
  const cors = corsFor(ops?.corsOrigins ?? []);
  if (cors) {
    app.use("/v1/*", cors);
    app.use("/openapi.json", cors);
  }
}

/** `GET /metrics` (when metrics are on) and the API reference page at `GET /docs`. */
export function registerOperationsRoutes(app: OpenAPIHono<AppEnv>, ops?: Operations): void {
  if (ops?.metrics) registerMetrics(app, { metrics: ops.metrics, token: ops.metricsToken });
  registerReference(app);
}
