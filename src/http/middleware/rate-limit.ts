import type { MiddlewareHandler } from "hono";
import { HallmarkError } from "../../errors/index.js";
import type { Limits } from "../../limits/index.js";
import type { AppEnv } from "../context.js";
import { setRateHeaders } from "./rate-limit-headers.js";

/**
 * The tenant's request-rate limit, after authentication: every authenticated API request counts
 * once (even when several `app.use` patterns match it), and every response of a limited tenant
 * carries the RateLimit fields. Over the limit: 429 `rate_limit_exceeded` with Retry-After. A
 * store that cannot answer is a 503 (fail closed). Requests without a principal (public routes)
 * pass untouched.
 *
 * @example app.use("/v1/moderations", bearerAuth(auth, "moderate"), rateLimit(limits))
 */
export function rateLimit(limits: Limits): MiddlewareHandler<AppEnv> {
  const counted = new WeakSet<Request>();
  return async (c, next) => {
    const principal = c.get("principal");
    if (!principal || counted.has(c.req.raw)) return next();
    counted.add(c.req.raw);
    // The key's own limit first (only with HALLMARK_RATE_LIMIT_KEY_RPS): a key over its share
    // is refused without spending its tenant's budget. Then the tenant's limit.
    const perKey = await limits.checkKeyRate(principal.apiKeyId);
    if (perKey) {
      setRateHeaders(c, perKey, "key");
      if (!perKey.allowed) {
        throw new HallmarkError(
          "rate_limit_exceeded",
          `Rate limit reached for this API key: ${perKey.rule.rps} requests per second with bursts of ${perKey.rule.burst}. Retry after ${perKey.retryAfterSeconds} s.`,
          { details: { retryAfterSeconds: perKey.retryAfterSeconds } },
        );
      }
    }
    const decision = await limits.checkRate(principal.tenantId);
    if (decision) {
      setRateHeaders(c, decision);
      if (!decision.allowed) {
        throw new HallmarkError(
          "rate_limit_exceeded",
          `Rate limit reached for tenant '${principal.tenantName}': ${decision.rule.rps} requests per second with bursts of ${decision.rule.burst}. Retry after ${decision.retryAfterSeconds} s.`,
          { details: { retryAfterSeconds: decision.retryAfterSeconds } },
        );
      }
    }
    await next();
  };
}
