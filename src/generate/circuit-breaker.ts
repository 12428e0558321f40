import { HallmarkError, isHallmarkError } from "../errors/index.js";
import type { EditInput, GenerateInput, GenerateOutput, Generator } from "./types.js";

export interface CircuitBreakerOptions {
  /** Consecutive backend failures that open the circuit. */
  failures: number;
  /** How long the circuit stays open before one probe request is let through, in ms. */
  cooldownMs: number;
  /** Clock in ms; injectable for tests. Default Date.now. */
  now?: () => number;
}

export type CircuitState = "closed" | "open" | "half-open";

/** A generator behind a breaker, with its state visible for health reports and tests. */
export interface BreakerGenerator extends Generator {
  readonly circuit: CircuitState;
}

/**
 * A circuit breaker for one backend. Closed: calls pass, and `failures` backend failures in a
 * row open it. Open: calls fail at once with `backend_unavailable` (503, with
 * `details.retryAfterSeconds` = the cool-down left), so a dead GPU box costs clients nothing and
 * gets no load while it restarts. After the cool-down it is half-open: one probe call passes
 * (others still fail fast); success closes the circuit, failure opens it for another cool-down.
 *
 * Only the backend's own failures count (`backend_unavailable`, `backend_error`,
 * `backend_timeout`, or the timeout signal's TimeoutError); a client that goes away, a request
 * the backend refuses as a content-policy violation or a local rate limit does not.
 *
 * @example
 * const g = withCircuitBreaker(withRetries(a1111, { retries: 2 }), { failures: 5, cooldownMs: 30_000 });
 */
export function withCircuitBreaker(
  generator: Generator,
  options: CircuitBreakerOptions,
): BreakerGenerator {
  const now = options.now ?? Date.now;
  let state: CircuitState = "closed";
  let consecutive = 0;
  let openedAt = 0;
  let probing = false;

  function admit(): boolean {
    if (state === "open" && now() - openedAt >= options.cooldownMs) state = "half-open";
    if (state === "closed") return false;
    if (state === "half-open" && !probing) {
      probing = true;
      return true;
    }
    const left = Math.max(1, Math.ceil((options.cooldownMs - (now() - openedAt)) / 1000));
    throw new HallmarkError(
      "backend_unavailable",
      `The ${generator.name} backend is failing; requests are paused for a while.`,
      { details: { retryAfterSeconds: left } },
    );
  }

  async function guarded<T>(call: () => Promise<T>): Promise<T> {
    const probe = admit();
    try {
      const result = await call();
      state = "closed";
      consecutive = 0;
      return result;
    } catch (error) {
      if (countsAsFailure(error)) {
        consecutive++;
        if (probe || consecutive >= options.failures) {
          state = "open";
          openedAt = now();
        }
      }
      throw error;
    } finally {
      if (probe) probing = false;
    }
  }

  const edit = generator.edit?.bind(generator);
  return {
    name: generator.name,
    defaultModel: generator.defaultModel,
    get circuit() {
      if (state === "open" && now() - openedAt >= options.cooldownMs) return "half-open";
      return state;
    },
    generate: (input: GenerateInput, signal: AbortSignal): Promise<GenerateOutput> =>
      guarded(() => generator.generate(input, signal)),
    ...(edit
      ? {
          editCapabilities: generator.editCapabilities,
          edit: (input: EditInput, signal: AbortSignal): Promise<GenerateOutput> =>
            guarded(() => edit(input, signal)),
        }
      : {}),
    // Health checks bypass the breaker: they are how an operator sees whether the backend is back.
    health: (signal?: AbortSignal) => generator.health(signal),
  };
}

function countsAsFailure(error: unknown): boolean {
  if (isHallmarkError(error)) {
    return (
      error.code === "backend_unavailable" ||
      error.code === "backend_error" ||
      error.code === "backend_timeout"
    );
  }
  return error instanceof Error && error.name === "TimeoutError";
}
