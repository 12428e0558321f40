import type { MiddlewareHandler } from "hono";
import type { Db } from "../../db/index.js";
import { withDatabase } from "../../db/index.js";
import { HallmarkError } from "../../errors/index.js";
import { authenticate } from "../../tenants/index.js";
import type { AppEnv } from "../context.js";

const PREFIX = "Bearer ";

/**
 * Authenticates `Authorization: Bearer <key>` against the stored key hashes and puts the
 * principal on the context. Missing and wrong keys are 401, a key without the route's scope 403,
 * a database outage 503.
 */
export function bearerAuth(db: Db, scope?: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (!header?.startsWith(PREFIX) || header.length === PREFIX.length) {
      throw new HallmarkError(
        "missing_api_key",
        "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
      );
    }
    const key = header.slice(PREFIX.length).trim();
    if (key.length > 256)
      throw new HallmarkError("invalid_api_key", "Incorrect or revoked API key provided.");
    const principal = await withDatabase(() => authenticate(db, key));
    if (scope && principal.scopes && !principal.scopes.includes(scope)) {
      throw new HallmarkError("insufficient_scope", `This key lacks the '${scope}' scope.`);
    }
    c.set("principal", principal);
    await next();
  };
}
