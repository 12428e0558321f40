import type { Periods } from "./types.js";

const DAY_MS = 86_400_000;

/**
 * The UTC day and month that `nowMs` falls in (as the dates they start on) and the whole
 * seconds until each ends: quotas reset at 00:00 UTC and on the 1st of the month.
 */
export function periodsAt(nowMs: number): Periods {
  const now = new Date(nowMs);
  const dayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const nextMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return {
    day: iso(dayStart),
    month: iso(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
    dayResetSeconds: Math.max(1, Math.ceil((dayStart + DAY_MS - nowMs) / 1000)),
    monthResetSeconds: Math.max(1, Math.ceil((nextMonth - nowMs) / 1000)),
  };
}
