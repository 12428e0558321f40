import { setMaxListeners } from "node:events";
import type { Context, MiddlewareHandler } from "hono";
import { HallmarkError } from "../../errors/index.js";
import type { AppEnv } from "../context.js";

export interface RequestGateOptions {
  /** Longest a request may take before it is answered 504 `request_timeout` and cancelled. */
  timeoutMs: number;
}

export interface DrainResult {
  /** True when every request in flight finished before the deadline. */
  finished: boolean;
  /** Requests cancelled at the deadline (answered 503 `shutting_down`). */
  cancelled: number;
  /** Work still running after the grace period (its audit may be missing). */
  abandoned: number;
}

/**
 * The gate every request passes: a per-request time limit, the count of work in flight, and
 * graceful shutdown.
 *
 * The request's abort signal (which the pipeline passes to the backend) is joined by one that
 * also fires on the time limit and at the shutdown deadline (`requestSignal(c)`), so cancelled work stops generating
 * and records its failure in the audit instead of running on unseen. Work is counted until it
 * settles, not merely until the client has its answer, so shutdown waits for the audit commit.
 *
 * @example const gate = createRequestGate({ timeoutMs: 180_000 }); app.use("*", gate.middleware)
 */
export function createRequestGate(options: RequestGateOptions) {
  let draining = false;
  const shutdown = new AbortController();
  // Every request in flight listens here until it ends (removed in `stop`): with more than ten
  // at once Node warned of a possible listener leak on stderr under ordinary load.
  setMaxListeners(0, shutdown.signal);
  const inFlight = new Set<Promise<unknown>>();

  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (draining) {
      c.header("Connection", "close");
      throw new HallmarkError(
        "shutting_down",
        "The gateway is shutting down; retry on another replica.",
        { details: { retryAfterSeconds: 1 } },
      );
    }
    const deadline = new AbortController();
    // Kept on the context, not put into a copy of the Request: a Request made with `signal`
    // follows it through an AbortController the Request alone holds, weakly linked from the
    // source (undici), so once the answered request's Request is collected, the deadline's
    // abort never reached the backend call, which ran on and was recorded as made
    // (nodejs/undici#3644). An AbortSignal.any() result held by the work aborts reliably.
    const signal = AbortSignal.any([c.req.raw.signal, deadline.signal, shutdown.signal]);
    c.set("signal", signal);

    let timer: NodeJS.Timeout | undefined;
    let onShutdown = () => {};
    const stopped = new Promise<never>((_, reject) => {
      onShutdown = () =>
        reject(
          new HallmarkError(
            "shutting_down",
            "The gateway shut down before this request finished; it was cancelled.",
            { details: { retryAfterSeconds: 1 } },
          ),
        );
      if (shutdown.signal.aborted) onShutdown();
      shutdown.signal.addEventListener("abort", onShutdown, { once: true });
      timer = setTimeout(() => {
        const error = new HallmarkError(
          "request_timeout",
          `The request did not finish within ${options.timeoutMs} ms; it was cancelled.`,
        );
        reject(error);
        // The reason is the error, so an answer already under way (a stream) can say why.
        deadline.abort(error);
      }, options.timeoutMs);
      timer.unref();
    });
    stopped.catch(() => {});

    const work = next();
    inFlight.add(work);
    void work.then(
      () => inFlight.delete(work),
      () => inFlight.delete(work),
    );
    const stop = () => {
      clearTimeout(timer);
      shutdown.signal.removeEventListener("abort", onShutdown);
    };
    let answered = false;
    try {
      await Promise.race([work, stopped]);
      answered = true;
    } finally {
      // An answer that goes on after its status (a stream) stays under the time limit and is
      // waited for (and cancelled) by drain until it ends.
      const rest = answered ? continuations.get(c) : undefined;
      if (rest) {
        inFlight.add(rest);
        void rest.finally(() => {
          inFlight.delete(rest);
          stop();
        });
      } else {
        stop();
      }
    }
  };

  return {
    middleware,
    /** Requests (or the work of answered ones) not yet settled. */
    get inFlight(): number {
      return inFlight.size;
    },
    get draining(): boolean {
      return draining;
    },
    /**
     * Stops admitting requests (503 `shutting_down`), waits up to `deadlineMs` for those in
     * flight, then cancels the rest and gives them `graceMs` to record their failure.
     */
    async drain(deadlineMs: number, graceMs = 5_000): Promise<DrainResult> {
      draining = true;
      if (await settleWithin(inFlight, deadlineMs))
        return { finished: true, cancelled: 0, abandoned: 0 };
      const cancelled = inFlight.size;
      shutdown.abort(
        new HallmarkError(
          "shutting_down",
          "The gateway shut down before this request finished; it was cancelled.",
          { details: { retryAfterSeconds: 1 } },
        ),
      );
      await settleWithin(inFlight, graceMs);
      return { finished: false, cancelled, abandoned: inFlight.size };
    },
  };
}

export type RequestGate = ReturnType<typeof createRequestGate>;

/**
 * Each request's answer that goes on after its handler returned, found from its context (weakly
 * held: an entry goes with its request).
 */
const continuations = new WeakMap<Context, Promise<unknown>>();

/**
 * For a route whose answer goes on after the handler returns (a Server-Sent Events stream):
 * `done` settles when it has ended. The gate then keeps the request's time limit and its place
 * among the work in flight until then; at the limit or the shutdown deadline the request's
 * signal aborts with the `request_timeout` or `shutting_down` HallmarkError as its reason.
 */
export function continuesUntil(c: Context, done: Promise<unknown>): void {
  continuations.set(
    c,
    done.then(
      () => {},
      () => {},
    ),
  );
}

/**
 * The signal a route passes to its work: the gate's (client gone, time limit, shutdown), or the
 * bare request's where no gate runs.
 */
export function requestSignal(c: Context<AppEnv>): AbortSignal {
  return c.get("signal") ?? c.req.raw.signal;
}

/** Resolves true once `work` is empty, or false after `ms`. */
async function settleWithin(work: Set<Promise<unknown>>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (work.size > 0) {
    const left = until - Date.now();
    if (left <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...work]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, left);
      }),
    ]);
    clearTimeout(timer);
  }
  return true;
}
