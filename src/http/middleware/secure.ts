import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../context.js";

/**
 * Security headers on every response (hono/secure-headers: nosniff, frame denial, HSTS,
 * no-referrer, cross-origin isolation of resources). The API answers JSON and images, so its
 * Content-Security-Policy allows nothing at all. Pages that need more set their own policy and
 * it is kept (`overwrite: false`): the review workspace (inline styles, same-origin forms) and
 * the API reference (its scripts and styles from /docs).
 */
export function secure(): MiddlewareHandler<AppEnv> {
  return secureHeaders({
    overwrite: false,
    xFrameOptions: "DENY",
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
    },
  });
}
