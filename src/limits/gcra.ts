import type { RateDecision, RateRule, RateState } from "./types.js";

/**
 * GCRA (generic cell rate algorithm): each key keeps one number, its theoretical arrival time
 * (TAT). A request at `now` moves it to max(TAT, now) + I, where I = 1/rps, and is allowed when
 * that stays within burst × I of now. The stores run exactly this step atomically
 * (postgres-store.ts, redis-store.ts); this file holds the arithmetic they share and what the
 * response headers report.
 */

/** The emission interval I in milliseconds. */
export function intervalMs(rule: RateRule): number {
  return 1000 / rule.rps;
}

/** The tolerance burst × I in milliseconds: how far ahead of now the TAT may run. */
export function toleranceMs(rule: RateRule): number {
  return rule.burst * intervalMs(rule);
}

/**
 * Slack added to the tolerance: TATs are float8 milliseconds near 1.7e12, whose last bit is about
 * 2e-4 ms, so sums of fractional intervals must not tip an exact burst into a refusal.
 */
export const SLACK_MS = 0.01;

/** The largest allowed max(TAT, now) + I - now: the tolerance plus the slack. */
export function limitMs(rule: RateRule): number {
  return toleranceMs(rule) + SLACK_MS;
}

/** One GCRA step in memory: the reference the stores' SQL and Lua are tested against. */
export function step(tatMs: number | null, nowMs: number, rule: RateRule): RateState {
  const next = Math.max(tatMs ?? nowMs, nowMs) + intervalMs(rule);
  const allowed = next - nowMs <= limitMs(rule);
  return { allowed, tatMs: allowed ? next : (tatMs ?? nowMs), nowMs };
}

/** What a store's answer means for the client: remaining requests, reset and retry times. */
export function decide(state: RateState, rule: RateRule): RateDecision {
  const i = intervalMs(rule);
  const ahead = Math.max(0, state.tatMs - state.nowMs);
  const resetSeconds = Math.ceil(ahead / 1000 - 1e-9);
  if (state.allowed) {
    const remaining = Math.max(0, Math.floor((limitMs(rule) - ahead) / i));
    return { allowed: true, rule, remaining, resetSeconds, retryAfterSeconds: 0 };
  }
  // The next request passes once max(TAT, now') + I - now' <= tolerance, i.e. at TAT + I - tolerance.
  const waitMs = state.tatMs + i - toleranceMs(rule) - state.nowMs;
  return {
    allowed: false,
    rule,
    remaining: 0,
    resetSeconds: Math.max(1, resetSeconds),
    retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000 - 1e-9)),
  };
}
