import { and, asc, desc, eq, gt, gte, ilike, inArray, lt, or, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/index.js";
import { generations, images, reviewDecisions, tenants } from "../db/schema.js";
import { HallmarkError } from "../errors/index.js";

/**
 * The reviewers' search: one parsed filter (from a query string) turned into one SQL
 * condition, used by the queue, the search page and the exports alike.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const blank = (v: unknown) => (v === "" ? undefined : v);
const day = z.preprocess(
  blank,
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/, "expected YYYY-MM-DD")
    .refine((s) => !Number.isNaN(Date.parse(s)), "not a date")
    .optional(),
);

/** The filters of a search, as the search form and the export links send them. */
export const searchFilterSchema = z.object({
  tenant: z.preprocess(blank, z.string().max(100).optional()),
  status: z.preprocess(blank, z.enum(["completed", "refused", "failed"]).optional()),
  action: z.preprocess(blank, z.enum(["allow", "review", "block"]).optional()),
  category: z.preprocess(
    blank,
    z
      .string()
      .regex(/^[a-z0-9_/-]{1,64}$/, "not a category name")
      .optional(),
  ),
  /** Inclusive start day (UTC). */
  from: day,
  /** Inclusive end day (UTC). */
  to: day,
  /** Substring of the prompt, when the prompt is kept in plaintext. */
  q: z.preprocess(blank, z.string().max(500).optional()),
  id: z.preprocess(blank, z.string().regex(UUID, "not a generation id").optional()),
  sha256: z.preprocess(
    blank,
    z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "not a SHA-256 (64 hex digits)")
      .transform((s) => s.toLowerCase())
      .optional(),
  ),
  /** Exact end-user reference (the request's `user`). */
  end_user: z.preprocess(blank, z.string().max(256).optional()),
  /** What was asked: a generation, an edit of an uploaded image, or a variation of one. */
  kind: z.preprocess(blank, z.enum(["generate", "edit", "variation"]).optional()),
  /** The reviewer's decision: approve, uphold, or none (not decided). */
  review: z.preprocess(blank, z.enum(["approve", "uphold", "none"]).optional()),
  /** Only flagged requests: action review or block. */
  flagged: z.preprocess(blank, z.enum(["1"]).optional()),
  /** Only requests waiting for a reviewer: held or blocked, no decision yet (the queue). */
  pending: z.preprocess(blank, z.enum(["1"]).optional()),
});
export type SearchFilter = z.infer<typeof searchFilterSchema>;

/** Parses a query string's filters; a bad value is `invalid_request_error` (400). */
export function parseFilter(query: Record<string, string>): SearchFilter {
  const known = Object.fromEntries(
    Object.entries(query).filter(([k]) => k in searchFilterSchema.shape),
  );
  // PostgreSQL text cannot hold NUL: refuse it here rather than fail in the query.
  const nul = Object.entries(known).find(([, v]) => v.includes("\u0000"));
  if (nul) {
    throw new HallmarkError("invalid_request_error", `Bad filter ${nul[0]}: contains NUL.`, {
      param: nul[0],
    });
  }
  const parsed = searchFilterSchema.safeParse(known);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = String(issue?.path[0] ?? "");
    throw new HallmarkError("invalid_request_error", `Bad filter ${param}: ${issue?.message}.`, {
      param,
    });
  }
  return parsed.data;
}

/** Held requests: refused with action "review". */
export const HELD = and(eq(generations.status, "refused"), eq(generations.action, "review"));
/** What the queue holds: held and blocked (flagged) requests, both refused. */
const DECIDABLE = and(
  eq(generations.status, "refused"),
  inArray(generations.action, ["review", "block"]),
);
const UNDECIDED = sql`not exists (select 1 from ${reviewDecisions} where ${reviewDecisions.generationId} = ${generations.id})`;

function endOfDay(s: string): Date {
  const d = new Date(s);
  return s.length === 10 ? new Date(d.getTime() + 86_400_000) : d;
}

/** Which tenants' requests a reviewer may see: a list of tenant ids, or null for every tenant. */
export type TenantScope = readonly string[] | null;

/** The SQL condition of a reviewer's tenant scope (undefined: every tenant). */
export function scopeCondition(scope: TenantScope): SQL | undefined {
  if (scope === null) return undefined;
  return scope.length === 0 ? sql`false` : inArray(generations.tenantId, [...scope]);
}

/** The SQL condition for a filter, within a reviewer's tenant scope. */
export function filterCondition(f: SearchFilter, scope: TenantScope = null): SQL | undefined {
  const parts: Array<SQL | undefined> = [scopeCondition(scope)];
  if (f.tenant) parts.push(eq(tenants.name, f.tenant));
  if (f.status) parts.push(eq(generations.status, f.status));
  if (f.kind) parts.push(eq(generations.kind, f.kind));
  if (f.action) parts.push(eq(generations.action, f.action));
  if (f.category)
    parts.push(sql`${generations.decision}->'fired' @> ${JSON.stringify([f.category])}::jsonb`);
  if (f.from) parts.push(gte(generations.createdAt, new Date(f.from)));
  if (f.to) parts.push(lt(generations.createdAt, endOfDay(f.to)));
  if (f.q) parts.push(ilike(generations.prompt, `%${f.q.replace(/[\\%_]/g, "\\$&")}%`));
  if (f.id) parts.push(eq(generations.id, f.id));
  if (f.sha256)
    parts.push(
      sql`exists (select 1 from ${images} where ${images.generationId} = ${generations.id} and ${images.sha256} = ${f.sha256})`,
    );
  if (f.flagged) parts.push(inArray(generations.action, ["review", "block"]));
  if (f.end_user) parts.push(eq(generations.endUser, f.end_user));
  if (f.review === "none") parts.push(UNDECIDED);
  else if (f.review) parts.push(eq(reviewDecisions.decision, f.review));
  if (f.pending) parts.push(and(DECIDABLE, UNDECIDED));
  return and(...parts.filter((p): p is SQL => p !== undefined));
}

/** One row of a result list or export. */
export interface SearchRow {
  id: string;
  createdAt: Date;
  tenant: string;
  endUser: string | null;
  kind: string;
  status: string;
  action: string;
  model: string;
  promptRetention: string;
  prompt: string | null;
  promptSha256: string;
  decision: unknown;
  logIndex: number | null;
  review: string | null;
  reviewNote: string | null;
  reviewLogIndex: number | null;
}

/**
 * One page of a search, newest first (or oldest first for the queue). `before` is the keyset
 * cursor (created_at, id) of the last row of the previous page, so exports stream without
 * OFFSET or loading everything; with `order` "asc" it is the cursor to continue after.
 */
export async function searchPage(
  db: Db,
  filter: SearchFilter,
  limit: number,
  before?: { createdAt: Date; id: string },
  order: "asc" | "desc" = "desc",
  scope: TenantScope = null,
): Promise<SearchRow[]> {
  // Milliseconds, as a JS Date holds them: the cursor must compare what the page returned.
  const at = sql`date_trunc('milliseconds', ${generations.createdAt})`;
  const asc_ = order === "asc";
  const cursor = before
    ? or(
        asc_
          ? sql`${at} > ${before.createdAt.toISOString()}::timestamptz`
          : sql`${at} < ${before.createdAt.toISOString()}::timestamptz`,
        and(
          sql`${at} = ${before.createdAt.toISOString()}::timestamptz`,
          asc_ ? gt(generations.id, before.id) : lt(generations.id, before.id),
        ),
      )
    : undefined;
  return db
    .select({
      id: generations.id,
      createdAt: generations.createdAt,
      tenant: tenants.name,
      endUser: generations.endUser,
      kind: generations.kind,
      status: generations.status,
      action: generations.action,
      model: generations.model,
      promptRetention: generations.promptRetention,
      prompt: generations.prompt,
      promptSha256: generations.promptSha256,
      decision: generations.decision,
      logIndex: generations.logIndex,
      review: reviewDecisions.decision,
      reviewNote: reviewDecisions.note,
      reviewLogIndex: reviewDecisions.logIndex,
    })
    .from(generations)
    .innerJoin(tenants, eq(generations.tenantId, tenants.id))
    .leftJoin(reviewDecisions, eq(reviewDecisions.generationId, generations.id))
    .where(and(filterCondition(filter, scope), cursor))
    .orderBy(...(asc_ ? [asc(at), asc(generations.id)] : [desc(at), desc(generations.id)]))
    .limit(limit);
}

/** A page cursor as sent in links: `<ISO time>_<generation id>`. */
export function parseCursor(
  value: string | undefined,
): { createdAt: Date; id: string } | undefined {
  if (value === undefined || value === "") return undefined;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)_([0-9a-f-]{36})$/i.exec(value);
  if (!m || Number.isNaN(Date.parse(m[1]!)) || !UUID.test(m[2]!)) {
    throw new HallmarkError("invalid_request_error", "Bad page cursor.", { param: "before" });
  }
  return { createdAt: new Date(m[1]!), id: m[2]! };
}

export function formatCursor(row: { createdAt: Date; id: string }): string {
  return `${row.createdAt.toISOString()}_${row.id}`;
}

/** Every row of a search, fetched page by page (for the streamed exports). */
export async function* searchAll(
  db: Db,
  filter: SearchFilter,
  scope: TenantScope = null,
  pageSize = 500,
) {
  let before: { createdAt: Date; id: string } | undefined;
  for (;;) {
    const rows = await searchPage(db, filter, pageSize, before, "desc", scope);
    yield* rows;
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    before = { createdAt: last.createdAt, id: last.id };
  }
}
