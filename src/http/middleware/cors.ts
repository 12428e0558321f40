import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../context.js";

/** Headers a browser client may send, and read back, across origins. */
const ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"];
const EXPOSE_HEADERS = [
  "X-Request-Id",
  "Retry-After",
  "Server-Timing",
  "RateLimit",
  "RateLimit-Policy",
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
  "X-Hallmark-Generation-Id",
];

/**
 * CORS for browser clients of the API, only when HALLMARK_CORS_ORIGINS names origins; with no
 * origins it is off (no Access-Control-* headers, so browsers keep the same-origin rule).
 * Credentials are not allowed: the API takes bearer keys, never cookies, across origins.
 */
export function corsFor(origins: string[]): MiddlewareHandler<AppEnv> | null {
  if (origins.length === 0) return null;
  return cors({
    origin: origins.includes("*") ? "*" : origins,
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ALLOW_HEADERS,
    exposeHeaders: EXPOSE_HEADERS,
    maxAge: 600,
  });
}
