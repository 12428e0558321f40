import { sql } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { scopeCondition, type TenantScope } from "./search.js";

/** Days the chart covers at most. */
export const MAX_STATS_DAYS = 366;

/** Counts for the chart: flagged requests per UTC day and fired category, and reviews per day. */
export interface DailyStats {
  /** day (YYYY-MM-DD) → category → requests whose decision fired it (review or block). */
  fired: Map<string, Map<string, number>>;
  /** day → approve | uphold → reviewer decisions. */
  reviews: Map<string, Map<string, number>>;
}

function rowsOf(result: unknown): Record<string, unknown>[] {
  // postgres-js returns the rows; PGlite returns { rows }.
  if (Array.isArray(result)) return result as Record<string, unknown>[];
  return ((result as { rows?: unknown[] }).rows ?? []) as Record<string, unknown>[];
}

function add(into: Map<string, Map<string, number>>, day: string, key: string, n: number) {
  const m = into.get(day) ?? new Map<string, number>();
  m.set(key, (m.get(key) ?? 0) + n);
  into.set(day, m);
}

/** Flagged requests and reviewer decisions per day over the last `days` days (UTC). */
export async function dailyStats(
  db: Db,
  days: number,
  now = new Date(),
  scope: TenantScope = null,
): Promise<DailyStats> {
  // Within a reviewer's tenant scope (the same condition as search): only those tenants'
  // requests and the decisions on them.
  const scoped = scopeCondition(scope);
  const inScope = scoped ? sql` and ${scoped}` : sql``;
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  since.setUTCDate(since.getUTCDate() - (days - 1));
  const fired = rowsOf(
    await db.execute(sql`
      select to_char(generations.created_at at time zone 'UTC', 'YYYY-MM-DD') as day, f.category,
        count(*)::int as n
      from generations cross join lateral jsonb_array_elements_text(
        case when jsonb_typeof(generations.decision->'fired') = 'array'
        then generations.decision->'fired' else '[]'::jsonb end) as f(category)
      where generations.created_at >= ${since.toISOString()}::timestamptz${inScope}
      group by 1, 2`),
  );
  const reviews = rowsOf(
    await db.execute(sql`
      select to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD') as day, r.decision,
        count(*)::int as n
      from review_decisions r join generations on generations.id = r.generation_id
      where r.created_at >= ${since.toISOString()}::timestamptz${inScope}
      group by 1, 2`),
  );
  const out: DailyStats = { fired: new Map(), reviews: new Map() };
  for (const r of fired) add(out.fired, String(r.day), String(r.category), Number(r.n));
  for (const r of reviews) add(out.reviews, String(r.day), String(r.decision), Number(r.n));
  return out;
}
