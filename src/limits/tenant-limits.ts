import { eq } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { tenants } from "../db/schema.js";
import { tenantLimits } from "../db/schema-limits.js";
import { HallmarkError } from "../errors/index.js";
import type { EffectiveLimits } from "./types.js";

/** A tenant's stored overrides: null keeps the configured default, 0 means no limit. */
export interface TenantLimitOverrides {
  rps: number | null;
  burst: number | null;
  imagesPerDay: number | null;
  imagesPerMonth: number | null;
}

export const NO_OVERRIDES: TenantLimitOverrides = {
  rps: null,
  burst: null,
  imagesPerDay: null,
  imagesPerMonth: null,
};

/** The limits in force: each override where set, else the default. */
export function effectiveLimits(
  defaults: EffectiveLimits,
  overrides: TenantLimitOverrides,
): EffectiveLimits {
  return {
    rate: {
      rps: overrides.rps ?? defaults.rate.rps,
      burst: overrides.burst ?? defaults.rate.burst,
    },
    quota: {
      imagesPerDay: overrides.imagesPerDay ?? defaults.quota.imagesPerDay,
      imagesPerMonth: overrides.imagesPerMonth ?? defaults.quota.imagesPerMonth,
    },
  };
}

export async function getTenantLimits(db: Db, tenantId: string): Promise<TenantLimitOverrides> {
  const [row] = await db.select().from(tenantLimits).where(eq(tenantLimits.tenantId, tenantId));
  if (!row) return NO_OVERRIDES;
  return {
    rps: row.rps,
    burst: row.burst,
    imagesPerDay: row.imagesPerDay,
    imagesPerMonth: row.imagesPerMonth,
  };
}

/**
 * Changes a tenant's overrides: a field left undefined keeps its stored value, null goes back to
 * the default, 0 lifts the limit. Returns the overrides now stored.
 *
 * @example await setTenantLimits(db, "acme", { rps: 5, burst: 10, imagesPerDay: 500 })
 */
export async function setTenantLimits(
  db: Db,
  tenantName: string,
  change: Partial<TenantLimitOverrides>,
): Promise<{ tenantId: string; overrides: TenantLimitOverrides }> {
  validate(change);
  const [tenant] = await db.select().from(tenants).where(eq(tenants.name, tenantName));
  if (!tenant) throw new HallmarkError("not_found", `No tenant named "${tenantName}".`);
  const current = await getTenantLimits(db, tenant.id);
  const next: TenantLimitOverrides = {
    rps: change.rps !== undefined ? change.rps : current.rps,
    burst: change.burst !== undefined ? change.burst : current.burst,
    imagesPerDay: change.imagesPerDay !== undefined ? change.imagesPerDay : current.imagesPerDay,
    imagesPerMonth:
      change.imagesPerMonth !== undefined ? change.imagesPerMonth : current.imagesPerMonth,
  };
  await db
    .insert(tenantLimits)
    .values({ tenantId: tenant.id, ...next, updatedAt: new Date() })
    .onConflictDoUpdate({
      target: tenantLimits.tenantId,
      set: { ...next, updatedAt: new Date() },
    });
  return { tenantId: tenant.id, overrides: next };
}

/** Every tenant with its overrides (tenants without a row have none). */
export async function listTenantLimits(
  db: Db,
): Promise<Array<{ tenantId: string; tenant: string } & TenantLimitOverrides>> {
  const rows = await db
    .select({ tenant: tenants, limits: tenantLimits })
    .from(tenants)
    .leftJoin(tenantLimits, eq(tenantLimits.tenantId, tenants.id))
    .orderBy(tenants.name);
  return rows.map((r) => ({
    tenantId: r.tenant.id,
    tenant: r.tenant.name,
    rps: r.limits?.rps ?? null,
    burst: r.limits?.burst ?? null,
    imagesPerDay: r.limits?.imagesPerDay ?? null,
    imagesPerMonth: r.limits?.imagesPerMonth ?? null,
  }));
}

/** Largest accepted values: beyond these a limit means nothing, and int4 columns overflow. */
export const MAX_RPS = 1_000_000;
export const MAX_COUNT = 1_000_000_000;

function validate(change: Partial<TenantLimitOverrides>): void {
  const bad = (param: string, rule: string) =>
    new HallmarkError("invalid_request_error", `${param} must be ${rule}.`, { param });
  const { rps, burst, imagesPerDay, imagesPerMonth } = change;
  if (rps != null && !(Number.isFinite(rps) && rps >= 0 && rps <= MAX_RPS)) {
    throw bad("rps", `a number from 0 (no limit) to ${MAX_RPS}`);
  }
  if (burst != null && !(Number.isInteger(burst) && burst >= 1 && burst <= MAX_COUNT)) {
    throw bad("burst", `a whole number from 1 to ${MAX_COUNT}`);
  }
  for (const [param, value] of [
    ["images_per_day", imagesPerDay],
    ["images_per_month", imagesPerMonth],
  ] as const) {
    if (value != null && !(Number.isInteger(value) && value >= 0 && value <= MAX_COUNT)) {
      throw bad(param, `a whole number from 0 (no quota) to ${MAX_COUNT}`);
    }
  }
}
