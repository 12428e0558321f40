import type { EditInput, GenerateInput, GenerateOutput, Generator } from "./types.js";
import { isSafeToRetry } from "./upstream-http.js";

export interface RetryOptions {
  /** Extra attempts after the first (0 disables retrying). */
  retries: number;
  /** Upper bound of the first backoff, in ms; doubles each attempt. Default 100. */
  baseDelayMs?: number;
  /** Cap on any one backoff, in ms. Default 2000. */
  maxDelayMs?: number;
  /** Source of jitter in [0, 1); injectable so tests are exact. Default Math.random. */
  random?: () => number;
}

/**
 * Retries a generator's calls, with exponential backoff and full jitter (a random wait in
 * [0, min(max, base·2^attempt)), which spreads retries from many clients), but only for failures
 * the adapter marked safe to retry: the connection was refused before the request was sent, or
 * a 502/503 came back unread. A timeout, a 4xx, a malformed answer or anything after the upstream
 * accepted work is never retried, since the upstream may be spending a GPU on it already. The
 * backoff wait ends at once when `signal` aborts.
 *
 * @example
 * const g = withRetries(createAutomatic1111Generator({ url, maxPixels }), { retries: 2 });
 */
export function withRetries(generator: Generator, options: RetryOptions): Generator {
  const base = options.baseDelayMs ?? 100;
  const cap = options.maxDelayMs ?? 2000;
  const random = options.random ?? Math.random;

  async function attempt<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      signal.throwIfAborted();
      try {
        return await call();
      } catch (error) {
        if (n >= options.retries || signal.aborted || !isSafeToRetry(error)) throw error;
      }
      await sleep(random() * Math.min(cap, base * 2 ** n), signal);
    }
  }

  const edit = generator.edit?.bind(generator);
  return {
    name: generator.name,
    defaultModel: generator.defaultModel,
    generate: (input: GenerateInput, signal: AbortSignal): Promise<GenerateOutput> =>
      attempt(signal, () => generator.generate(input, signal)),
    ...(edit
      ? {
          editCapabilities: generator.editCapabilities,
          edit: (input: EditInput, signal: AbortSignal): Promise<GenerateOutput> =>
            attempt(signal, () => edit(input, signal)),
        }
      : {}),
    health: (signal?: AbortSignal) => generator.health(signal),
  };
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
