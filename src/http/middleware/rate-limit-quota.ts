import type { Context, MiddlewareHandler } from "hono";
import { HallmarkError } from "../../errors/index.js";
import type { Limits } from "../../limits/index.js";
import type { AppEnv } from "../context.js";
import { setQuotaHeaders } from "./rate-limit-headers.js";

/** Set on a response that replays an earlier one (src/http/middleware/idempotency.ts). */
const REPLAYED_HEADER = "Idempotent-Replayed";

export interface ImageQuotaOptions {
  /** The largest `n` a request may ask for (HALLMARK_MAX_IMAGES). */
  maxImages: number;
}

/**
 * Image quotas on the routes that produce images (POST /v1/images/*). Before the route runs,
 * the `n` images it asks for are reserved against the tenant's day and month quotas in one
 * atomic step on the shared store; concurrent requests on any replica therefore can never
 * together exceed a quota. The reservation is committed when the route answers 2xx with images
 * of its own (delivered, or accepted as an asynchronous job), and is given back otherwise: a
 * refusal, a failure, a bad request, an idempotent replay (its images were counted the first
 * time). It is a hold that expires (HALLMARK_QUOTA_HOLD_SECONDS): if this replica dies before
 * settling it, the store gives it back on the tenant's next reservation. A tenant without a quota
 * has nothing held (nothing to admit against); its delivered images are counted on commit.
 * Over quota: 429 `quota_exceeded`, Retry-After = the end of the UTC day or month.
 *
 * @example app.use("/v1/images/*", bearerAuth(auth, "generate"), rateLimit(limits), imageQuota(limits, { maxImages: 4 }))
 */
export function imageQuota(limits: Limits, options: ImageQuotaOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    if (c.req.method !== "POST" || !principal) return next();
    const n = await requestedImages(c, options.maxImages);
    const result = await limits.reserveImages(principal.tenantId, n);
    setQuotaHeaders(c, result.quota);
    if (!result.ok) {
      const limit =
        result.period === "day"
          ? result.quota.limits.imagesPerDay
          : result.quota.limits.imagesPerMonth;
      const used = result.period === "day" ? result.used.day : result.used.month;
      const retry =
        result.period === "day" ? result.periods.dayResetSeconds : result.periods.monthResetSeconds;
      throw new HallmarkError(
        "quota_exceeded",
        `Image quota reached for tenant '${principal.tenantName}': ${used} of ${limit} images this UTC ${result.period}; this request asks for ${n}.`,
        { details: { retryAfterSeconds: retry, period: result.period, limit, used } },
      );
    }
    let settled = false;
    // A failure leaves the images counted until the hold expires (never over-admits); the
    // operator sees why.
    const failed = (keep: boolean) => (error: unknown) => {
      c.get("logger")?.warn(
        `quota: a reservation could not be ${keep ? "committed" : "released"}`,
        {
          error: String(error),
        },
      );
    };
    const settle = async (keep: boolean) => {
      if (settled) return;
      settled = true;
      await (keep ? limits.commit(result.reservation) : limits.release(result.reservation)).catch(
        failed(keep),
      );
    };
    const slot: QuotaSlot = { settle, deferred: false };
    slots.set(c, slot);
    let keep = false;
    try {
      await next();
      keep = c.res.status >= 200 && c.res.status < 300 && !c.res.headers.has(REPLAYED_HEADER);
    } finally {
      // A streamed answer is 200 before its outcome is known: its route settles it (deferQuota).
      // Otherwise the reservation is settled after the answer has gone (Limits.settleLater).
      if (!(slot.deferred && keep) && !settled) {
        settled = true;
        limits.settleLater(result.reservation, keep, failed(keep));
      }
    }
  };
}

interface QuotaSlot {
  settle(keep: boolean): Promise<void>;
  deferred: boolean;
}

/**
 * Each request's reservation, found from its context (weakly held: an entry goes with its
 * request; nothing is shared between requests or apps).
 */
const slots = new WeakMap<Context, QuotaSlot>();

/**
 * For a route whose 2xx status is sent before its outcome (a Server-Sent Events stream): the
 * reservation is then settled by the returned function, called once with whether the request
 * delivered its images (or had them held for review); `false` gives the images back. Without an
 * image quota on the route it does nothing. Once deferred, a 2xx answer no longer settles it.
 */
export function deferQuota(c: Context): (keep: boolean) => Promise<void> {
  const slot = slots.get(c);
  if (!slot) return async () => {};
  slot.deferred = true;
  return (keep) => slot.settle(keep);
}

/**
 * The `n` a request asks for, read from its JSON or multipart body (the body is buffered, and
 * the route reads it again from Hono's cache). Anything that is not a whole number in range
 * counts as 1: the route refuses such a request and the reservation is released.
 */
async function requestedImages(c: Context<AppEnv>, maxImages: number): Promise<number> {
  const type = c.req.header("content-type") ?? "";
  let value: unknown;
  try {
    if (type.startsWith("application/json")) {
      const text = new TextDecoder().decode(await c.req.arrayBuffer());
      value = (JSON.parse(text) as { n?: unknown } | null)?.n;
    } else if (type.startsWith("multipart/form-data")) {
      const form = await new Response(await c.req.arrayBuffer(), {
        headers: { "content-type": type },
      }).formData();
      value = form.get("n");
      if (typeof value === "string") value = value.trim() === "" ? undefined : Number(value);
    }
  } catch {
    return 1;
  }
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= maxImages
    ? value
    : 1;
}
