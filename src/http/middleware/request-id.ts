import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { Logger } from "../../log/index.js";
import type { AppEnv } from "../context.js";

const HEADER = "x-request-id";
/** A caller-supplied id is echoed only when it is short and plain, so logs stay clean. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Gives every request an id (echoed in `x-request-id` and in error bodies) and a logger. */
export function requestId(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const given = c.req.header(HEADER);
    const id = given && SAFE_ID.test(given) ? given : `req_${randomUUID().replaceAll("-", "")}`;
    c.set("requestId", id);
    c.set("logger", logger);
    c.header(HEADER, id);
    await next();
  };
}
