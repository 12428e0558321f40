import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Db } from "../../db/index.js";
import { HallmarkError } from "../../errors/index.js";
import {
  type Limits,
  queryUsage,
  type UsageRow,
  usageCsv,
  usageRange,
} from "../../limits/index.js";
import { listTenants } from "../../tenants/index.js";
import type { AppEnv } from "../context.js";
import { errorResponses } from "../openapi.js";

const UsageRowSchema = z
  .object({
    date: z.string().openapi({ example: "2026-11-27" }),
    tenant: z.string(),
    requests: z.number().int(),
    completed: z.number().int(),
    images: z.number().int(),
    refused: z.number().int(),
    failed: z.number().int(),
  })
  .openapi("UsageRow");

const QuotaSchema = z.object({
  limit: z.number().int().openapi({ description: "0: no quota" }),
  used: z.number().int(),
  resets_in_seconds: z.number().int(),
});

export const UsageResponseSchema = z
  .object({
    object: z.literal("list"),
    tenant: z.string().nullable(),
    from: z.string(),
    to: z.string(),
    data: z.array(UsageRowSchema),
    limits: z
      .object({
        rate: z.object({ rps: z.number(), burst: z.number().int() }),
        images_per_day: QuotaSchema,
        images_per_month: QuotaSchema,
      })
      .optional()
      .openapi({ description: "The caller's limits in force and quota used (own usage only)" }),
  })
  .openapi("Usage");

const dateParam = z
  .string()
  .max(10)
  .optional()
  .openapi({ description: "UTC date YYYY-MM-DD, inclusive" });
const formatParam = z.enum(["json", "csv"]).optional();

const responses = {
  200: {
    description: "Usage per tenant per UTC day",
    content: {
      "application/json": { schema: UsageResponseSchema },
      "text/csv": { schema: z.string() },
    },
  },
  403: { description: "The key lacks the route's scope", content: errorResponses[400].content },
  404: { description: "No such tenant", content: errorResponses[400].content },
  ...errorResponses,
} as const;

/**
 * `GET /v1/usage` (a tenant's own usage; `generate` or `audit-read`) and `GET /v1/admin/usage`
 * (every tenant or one, `admin` only): requests, images delivered, refusals and failures per UTC
 * day, derived from the audit rows; `format=csv` for a spreadsheet.
 */
export function registerUsage(app: OpenAPIHono<AppEnv>, deps: { db: Db; limits: Limits }): void {
  const own = createRoute({
    method: "get",
    path: "/v1/usage",
    summary: "The caller's tenant's usage per UTC day, with its limits and quota used",
    security: [{ bearerAuth: [] }],
    request: { query: z.object({ from: dateParam, to: dateParam, format: formatParam }) },
    responses,
  });
  app.openapi(own, async (c) => {
    const query = c.req.valid("query");
    const principal = c.get("principal");
    const range = usageRange(query.from, query.to);
    const rows = await queryUsage(deps.db, { tenantId: principal.tenantId, ...range });
    if (query.format === "csv") return csv(c, rows, principal.tenantName, range);
    const limits = await deps.limits.limitsFor(principal.tenantId);
    const quota = await deps.limits.quotaUsed(principal.tenantId);
    return c.json(
      {
        object: "list" as const,
        tenant: principal.tenantName,
        ...range,
        data: rows,
        limits: {
          rate: limits.rate,
          images_per_day: {
            limit: limits.quota.imagesPerDay,
            used: quota.used.day,
            resets_in_seconds: quota.periods.dayResetSeconds,
          },
          images_per_month: {
            limit: limits.quota.imagesPerMonth,
            used: quota.used.month,
            resets_in_seconds: quota.periods.monthResetSeconds,
          },
        },
      },
      200,
    );
  });

  const admin = createRoute({
    method: "get",
    path: "/v1/admin/usage",
    summary: "Usage of every tenant (or one) per UTC day (admin scope)",
    security: [{ bearerAuth: [] }],
    request: {
      query: z.object({
        tenant: z.string().max(63).optional(),
        from: dateParam,
        to: dateParam,
        format: formatParam,
      }),
    },
    responses,
  });
  app.openapi(admin, async (c) => {
    const query = c.req.valid("query");
    const range = usageRange(query.from, query.to);
    let tenantId: string | undefined;
    if (query.tenant !== undefined) {
      const tenant = (await listTenants(deps.db)).find((t) => t.name === query.tenant);
      if (!tenant) {
        throw new HallmarkError("not_found", `No tenant named "${query.tenant}".`, {
          param: "tenant",
        });
      }
      tenantId = tenant.id;
    }
    const rows = await queryUsage(deps.db, { tenantId, ...range });
    if (query.format === "csv") return csv(c, rows, query.tenant ?? "all", range);
    return c.json(
      { object: "list" as const, tenant: query.tenant ?? null, ...range, data: rows },
      200,
    );
  });
}

function csv(
  c: Context<AppEnv>,
  rows: UsageRow[],
  name: string,
  range: { from: string; to: string },
) {
  c.header("Content-Type", "text/csv; charset=utf-8");
  c.header(
    "Content-Disposition",
    `attachment; filename="usage-${name}-${range.from}-${range.to}.csv"`,
  );
  return c.body(usageCsv(rows), 200) as never;
}
