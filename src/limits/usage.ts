import { sql } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import { resultRows } from "./sql-rows.js";

/** Longest range one usage query may cover, in days (bounds the work of one report). */
export const MAX_USAGE_DAYS = 366;

export interface UsageQuery {
  /** Only this tenant (by id); absent: every tenant. */
  tenantId?: string;
  /** First and last UTC day, inclusive, as YYYY-MM-DD. */
  from: string;
  to: string;
}

/** One tenant's generation requests on one UTC day, by outcome. */
export interface UsageRow {
  date: string;
  tenant: string;
  /** Generation (and edit) requests recorded, whatever their outcome. */
  requests: number;
  completed: number;
  /** Images delivered: the image rows of completed requests. */
  images: number;
  /** Refused or held under the content policy (prompt or output). */
  refused: number;
  failed: number;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Checks and fills a usage range: dates default to the 30 days ending today (UTC); `from` may
 * not follow `to`, and a range may cover at most MAX_USAGE_DAYS.
 */
export function usageRange(
  from: string | undefined,
  to: string | undefined,
  nowMs = Date.now(),
): { from: string; to: string } {
  const day = (s: string, param: string) => {
    const ms = DATE_RE.test(s) ? Date.parse(`${s}T00:00:00Z`) : Number.NaN;
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== s) {
      throw new HallmarkError("invalid_request_error", `${param} must be a date YYYY-MM-DD.`, {
        param,
      });
    }
    return ms;
  };
  const today = new Date(nowMs).toISOString().slice(0, 10);
  const toMs = day(to ?? today, "to");
  const fromMs = from === undefined ? toMs - 29 * 86_400_000 : day(from, "from");
  if (fromMs > toMs) {
    throw new HallmarkError("invalid_request_error", "from must not be after to.", {
      param: "from",
    });
  }
  if ((toMs - fromMs) / 86_400_000 + 1 > MAX_USAGE_DAYS) {
    throw new HallmarkError(
      "invalid_request_error",
      `A usage range covers at most ${MAX_USAGE_DAYS} days.`,
      { param: "from" },
    );
  }
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return { from: iso(fromMs), to: iso(toMs) };
}

/**
 * Usage per tenant per UTC day, derived from the audit rows themselves (`generations` and
 * `images`), which are committed before any image leaves: the report cannot disagree with the
 * audit, costs no write on the request path, and reads the same whichever limiter store is
 * configured. Days without requests have no row.
 */
export async function queryUsage(db: Db, query: UsageQuery): Promise<UsageRow[]> {
  const tenantFilter = query.tenantId ? sql`and g.tenant_id = ${query.tenantId}::uuid` : sql``;
  const rows = resultRows(
    await db.execute(sql`
      with g as (
        select g.tenant_id, (g.created_at at time zone 'UTC')::date as day, g.status,
               (select count(*) from images i where i.generation_id = g.id) as images
        from generations g
        where g.created_at >= (${query.from}::date)::timestamp at time zone 'UTC'
          and g.created_at < (${query.to}::date + 1)::timestamp at time zone 'UTC'
          ${tenantFilter}
      )
      select to_char(g.day, 'YYYY-MM-DD') as date, t.name as tenant,
             count(*) as requests,
             count(*) filter (where g.status = 'completed') as completed,
             coalesce(sum(g.images) filter (where g.status = 'completed'), 0) as images,
             count(*) filter (where g.status = 'refused') as refused,
             count(*) filter (where g.status = 'failed') as failed
      from g join tenants t on t.id = g.tenant_id
      group by g.day, t.name
      order by g.day, t.name`),
  );
  return rows.map((r) => ({
    date: String(r.date),
    tenant: String(r.tenant),
    requests: Number(r.requests),
    completed: Number(r.completed),
    images: Number(r.images),
    refused: Number(r.refused),
    failed: Number(r.failed),
  }));
}

const CSV_COLUMNS = [
  "date",
  "tenant",
  "requests",
  "completed",
  "images",
  "refused",
  "failed",
] as const;

/** RFC 4180 CSV with a header line and CRLF line ends. */
export function usageCsv(rows: UsageRow[]): string {
  const cell = (v: string | number) => {
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [CSV_COLUMNS.join(",")];
  for (const row of rows) lines.push(CSV_COLUMNS.map((c) => cell(row[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
