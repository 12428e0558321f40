import type { Context } from "hono";
import type { QuotaStatus, RateDecision } from "../../limits/index.js";
import type { AppEnv } from "../context.js";

/**
 * The RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers-10
 * (Structured Field lists, one member per policy; each middleware appends its own members):
 *
 *   RateLimit-Policy: "rate";q=200;w=2, "images-day";q=1000;w=86400;qu="images"
 *   RateLimit: "rate";r=199;t=1, "images-day";r=996;t=41012
 *
 * `rate` is the tenant's GCRA: q = burst, w = the seconds a full bucket takes to refill
 * (burst / rps), r = requests that could be made at once now, t = seconds until the bucket is
 * full again. The image quotas count images, not requests (`qu="images"`): r is the images left
 * in the UTC day or month, t the seconds until it ends. docs/limits.md.
 */
export const POLICY_HEADER = "RateLimit-Policy";
export const STATE_HEADER = "RateLimit";

/** The members of one GCRA policy: `rate` (the tenant's) or `key` (the API key's own). */
export function setRateHeaders(
  c: Context<AppEnv>,
  decision: RateDecision,
  name: "rate" | "key" = "rate",
): void {
  const w = Math.max(1, Math.ceil(decision.rule.burst / decision.rule.rps));
  c.header(POLICY_HEADER, `"${name}";q=${decision.rule.burst};w=${w}`, { append: true });
  c.header(STATE_HEADER, `"${name}";r=${decision.remaining};t=${decision.resetSeconds}`, {
    append: true,
  });
}

/** Quota members for the periods that have a quota; none when the tenant has no quota. */
export function setQuotaHeaders(c: Context<AppEnv>, quota: QuotaStatus): void {
  // No counts read: the tenant has no quota, so there is nothing to report.
  if (!quota.used) return;
  const members: Array<{ name: string; q: number; w: number; used: number; t: number }> = [];
  if (quota.limits.imagesPerDay > 0) {
    members.push({
      name: "images-day",
      q: quota.limits.imagesPerDay,
      w: 86_400,
      used: quota.used.day,
      t: quota.periods.dayResetSeconds,
    });
  }
  if (quota.limits.imagesPerMonth > 0) {
    members.push({
      name: "images-month",
      q: quota.limits.imagesPerMonth,
      w: monthSeconds(quota.periods.month),
      used: quota.used.month,
      t: quota.periods.monthResetSeconds,
    });
  }
  for (const m of members) {
    c.header(POLICY_HEADER, `"${m.name}";q=${m.q};w=${m.w};qu="images"`, { append: true });
    c.header(STATE_HEADER, `"${m.name}";r=${Math.max(0, m.q - m.used)};t=${m.t}`, {
      append: true,
    });
  }
}

/** Length in seconds of the UTC month starting on `monthStart` (YYYY-MM-01). */
function monthSeconds(monthStart: string): number {
  const start = Date.parse(`${monthStart}T00:00:00Z`);
  const d = new Date(start);
  const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return (next - start) / 1000;
}
