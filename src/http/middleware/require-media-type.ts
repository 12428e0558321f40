import type { MiddlewareHandler } from "hono";
import { HallmarkError } from "../../errors/index.js";
import type { AppEnv } from "../context.js";

/** Refuses (415) a body whose Content-Type is not one of `accepted` (prefix match, e.g. "image/"). */
export function requireMediaType(accepted: string[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (!accepted.some((a) => (a.endsWith("/") ? type.startsWith(a) : type === a))) {
      throw new HallmarkError(
        "unsupported_media_type",
        `Unsupported Content-Type '${type || "(none)"}'; expected ${accepted.join(" or ")}.`,
      );
    }
    await next();
  };
}
