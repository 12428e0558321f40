import { HallmarkError } from "../errors/index.js";

export interface LimiterOptions {
  /** Generations running at once against the backend. */
  concurrency: number;
  /** Requests allowed to wait for a slot; one more is refused with 429 at once. */
  queue: number;
}

/**
 * A concurrency limit with a bounded FIFO queue. A full queue is refused immediately
 * (`rate_limited`, with a retry hint) instead of piling up requests the backend cannot serve.
 * A waiter whose signal aborts leaves the queue.
 */
export function createLimiter(options: LimiterOptions) {
  let running = 0;
  const waiting: Array<{ start: () => void; signal: AbortSignal; onAbort: () => void }> = [];

  function release() {
    running--;
    const next = waiting.shift();
    if (next) {
      next.signal.removeEventListener("abort", next.onAbort);
      running++;
      next.start();
    }
  }

  return {
    get running() {
      return running;
    },
    get queued() {
      return waiting.length;
    },
    async run<T>(signal: AbortSignal, task: () => Promise<T>): Promise<T> {
      signal.throwIfAborted();
      if (running >= options.concurrency) {
        if (waiting.length >= options.queue) {
          throw new HallmarkError(
            "rate_limited",
            "The generation backend is at capacity; retry shortly.",
            {
              details: { retryAfterSeconds: 2 },
            },
          );
        }
        await new Promise<void>((resolve, reject) => {
          const entry = {
            start: resolve,
            signal,
            onAbort: () => {
              const i = waiting.indexOf(entry);
              if (i >= 0) waiting.splice(i, 1);
              reject(signal.reason);
            },
          };
          signal.addEventListener("abort", entry.onAbort, { once: true });
          waiting.push(entry);
        });
      } else {
        running++;
      }
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}

export type Limiter = ReturnType<typeof createLimiter>;
