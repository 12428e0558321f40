import type { Context, MiddlewareHandler } from "hono";
import { withDatabase } from "../../db/index.js";
import { HallmarkError } from "../../errors/index.js";
import { type Authenticate, type AuthThrottle, lookUpKey } from "../../tenants/index.js";
import type { AppEnv } from "../context.js";

/** Failed authentications counted per client address (HALLMARK_AUTH_FAILURES_PER_MINUTE). */
export interface AuthGuard {
  throttle: AuthThrottle;
  address(c: Context): string;
}

const PREFIX = "Bearer ";

/**
 * Authenticates `Authorization: Bearer <key>` against the stored key hashes and puts the
 * principal on the context (`authenticate`: the database lookup, or `cachedAuthenticate`).
 * Missing and wrong keys are 401, a key without the route's scope 403, a database outage 503.
 * With `guard`, an address that has sent too many wrong keys gets 429 with Retry-After, before
 * any lookup, until its bucket refills (tenants/auth-throttle.ts).
 */
export function bearerAuth(
  authenticate: Authenticate,
  scope?: string | readonly string[],
  guard?: AuthGuard,
): MiddlewareHandler<AppEnv> {
  // A list means any one of them will do (e.g. generate or audit-read for reading records).
  const anyOf = scope === undefined ? [] : typeof scope === "string" ? [scope] : scope;
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (!header?.startsWith(PREFIX) || header.length === PREFIX.length) {
      throw new HallmarkError(
        "missing_api_key",
        "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
      );
    }
    const principal = await lookUpKey(
      header.slice(PREFIX.length).trim(),
      (key) => withDatabase(() => authenticate(key)),
      guard && { throttle: guard.throttle, address: guard.address(c) },
    );
    if (anyOf.length > 0 && principal.scopes && !anyOf.some((s) => principal.scopes!.includes(s))) {
      throw new HallmarkError(
        "insufficient_scope",
        `This key lacks the '${anyOf.join("' or '")}' scope.`,
      );
    }
    c.set("principal", principal);
    await next();
  };
}
