import { timingSafeEqual } from "node:crypto";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { HallmarkError } from "../../errors/index.js";
import type { Metrics } from "../../metrics/index.js";
import type { AppEnv } from "../context.js";

const PREFIX = "Bearer ";

/**
 * `GET /metrics`: the Prometheus text exposition of this process's registry. With a token
 * (HALLMARK_METRICS_TOKEN) it needs `Authorization: Bearer <token>`, compared in constant time;
 * without one it is open, like /healthz, and holds no secret (counts by route, stage, code).
 * Not in /openapi.json: it is for the operator's scraper, not for API clients.
 */
export function registerMetrics(
  app: OpenAPIHono<AppEnv>,
  deps: { metrics: Metrics; token?: string },
): void {
  const expected = deps.token ? Buffer.from(deps.token) : null;
  app.get("/metrics", async (c) => {
    if (expected) {
      const header = c.req.header("authorization") ?? "";
      if (!header.startsWith(PREFIX)) {
        throw new HallmarkError("missing_api_key", "Send the metrics token as a bearer token.");
      }
      const given = Buffer.from(header.slice(PREFIX.length).trim());
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new HallmarkError("invalid_api_key", "Incorrect metrics token.");
      }
    }
    const body = await deps.metrics.registry.metrics();
    return c.body(body, 200, {
      "content-type": deps.metrics.registry.contentType,
      "cache-control": "no-store",
    });
  });
}
