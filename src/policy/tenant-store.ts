/**
 * Tenant policies and declarations in the database (src/db/schema-policy.ts): the append-only
 * versions of each tenant's override and the tenant's declared use, revenue and output terms.
 */
import { and, desc, eq, sql } from "drizzle-orm";
import { type Db, withDatabase } from "../db/index.js";
import { tenants } from "../db/schema.js";
import { tenantPolicyVersions, tenantSettings } from "../db/schema-policy.js";
import { HallmarkError } from "../errors/index.js";
import type { Policy } from "./load.js";
import { contentHash, mergePolicy, parseOverride } from "./merge.js";
import type { PolicyOverride } from "./schema.js";

export interface PolicyVersion {
  tenant: string;
  version: number;
  base: string;
  baseHash: string;
  override: PolicyOverride;
  source: string;
  hash: string;
  author: string;
  comment: string;
  createdAt: Date;
}

export const TENANT_USES = ["commercial", "non-commercial"] as const;
export type TenantUse = (typeof TENANT_USES)[number];

/** What a tenant declares for the licence audit. */
export interface TenantSettings {
  use: TenantUse;
  /** Annual revenue in USD; null: not declared. */
  annualRevenueUsd: number | null;
  /** The terms under which the tenant receives outputs, e.g. "royalty-free standard licence". */
  outputTerms: string | null;
  revision: number;
  updatedBy: string;
  updatedAt: Date;
}

export async function findTenant(db: Db, name: string): Promise<{ id: string; name: string }> {
  const [row] = await withDatabase(() =>
    db.select({ id: tenants.id, name: tenants.name }).from(tenants).where(eq(tenants.name, name)),
  );
  if (!row) throw new HallmarkError("not_found", `No tenant named "${name}".`);
  return row;
}

/** Resolves a base policy by id, or says which exist. */
export type BaseLookup = (id: string | undefined) => Policy;

/**
 * Validates an override (YAML or JSON text) against its base, then appends it as the tenant's
 * next version, with the SHA-256 of the canonical merged policy. Concurrent setters cannot both
 * take a version number: the (tenant, version) index is unique, and the loser is told to retry.
 * A bad override is `invalid_request_error` naming the line and what was expected.
 */
export async function setTenantPolicy(
  db: Db,
  bases: BaseLookup,
  input: { tenant: string; text: string; author: string; comment?: string; source?: string },
): Promise<PolicyVersion> {
  const tenant = await findTenant(db, input.tenant);
  const where = input.source ?? "override";
  let parsed: ReturnType<typeof parseOverride>;
  try {
    parsed = parseOverride(input.text, where);
  } catch (error) {
    if (error instanceof HallmarkError && error.code === "config_error") {
      throw new HallmarkError("invalid_request_error", error.message, { param: "policy" });
    }
    throw error;
  }
  const base = bases(parsed.data.base);
  const merged = mergePolicy(base, parsed.data, where, parsed);
  const override = JSON.parse(JSON.stringify(parsed.data)) as PolicyOverride;
  const row = await withDatabase(() =>
    db.transaction(async (tx) => {
      const [last] = await tx
        .select({ v: sql<number>`coalesce(max(${tenantPolicyVersions.version}), 0)::int` })
        .from(tenantPolicyVersions)
        .where(eq(tenantPolicyVersions.tenantId, tenant.id));
      const [inserted] = await tx
        .insert(tenantPolicyVersions)
        .values({
          tenantId: tenant.id,
          version: (last?.v ?? 0) + 1,
          base: base.id,
          baseHash: base.hash,
          override,
          source: input.text,
          hash: contentHash(merged),
          author: input.author,
          comment: input.comment ?? "",
        })
        .returning();
      return inserted!;
    }),
  ).catch((error: unknown) => {
    if (/tenant_policy_versions_tenant_version_idx|duplicate key/.test(String(error))) {
      throw new HallmarkError(
        "invalid_request_error",
        "Another change to this tenant's policy was saved at the same time; retry.",
      );
    }
    throw error;
  });
  return toVersion(row, tenant.name);
}

function toVersion(row: typeof tenantPolicyVersions.$inferSelect, tenant: string): PolicyVersion {
  return {
    tenant,
    version: row.version,
    base: row.base,
    baseHash: row.baseHash,
    override: row.override as PolicyOverride,
    source: row.source,
    hash: row.hash,
    author: row.author,
    comment: row.comment,
    createdAt: row.createdAt,
  };
}

/** A tenant's versions, newest first (at most `limit`). */
export async function listTenantPolicyVersions(
  db: Db,
  tenantName: string,
  limit = 100,
): Promise<PolicyVersion[]> {
  const tenant = await findTenant(db, tenantName);
  const rows = await withDatabase(() =>
    db
      .select()
      .from(tenantPolicyVersions)
      .where(eq(tenantPolicyVersions.tenantId, tenant.id))
      .orderBy(desc(tenantPolicyVersions.version))
      .limit(limit),
  );
  return rows.map((r) => toVersion(r, tenant.name));
}

/** One version (or the latest when `version` is absent); null when the tenant has none. */
export async function getTenantPolicyVersion(
  db: Db,
  tenantId: string,
  tenantName: string,
  version?: number,
): Promise<PolicyVersion | null> {
  const rows = await withDatabase(() =>
    db
      .select()
      .from(tenantPolicyVersions)
      .where(
        version === undefined
          ? eq(tenantPolicyVersions.tenantId, tenantId)
          : and(
              eq(tenantPolicyVersions.tenantId, tenantId),
              eq(tenantPolicyVersions.version, version),
            ),
      )
      .orderBy(desc(tenantPolicyVersions.version))
      .limit(1),
  );
  return rows[0] ? toVersion(rows[0], tenantName) : null;
}

/**
 * The cheap freshness check a replica runs before trusting its cache: the tenant's latest policy
 * version and settings revision, in one round trip over two primary-key/unique-index lookups.
 */
export async function tenantStamp(
  db: Db,
  tenantId: string,
): Promise<{ version: number; revision: number }> {
  const rows = await withDatabase(() =>
    db.execute(
      sql`select
        (select max(version) from tenant_policy_versions where tenant_id = ${tenantId}) as version,
        (select revision from tenant_settings where tenant_id = ${tenantId}) as revision`,
    ),
  );
  const list = (Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows) as Array<{
    version: number | string | null;
    revision: number | string | null;
  }>;
  const r = list[0];
  return { version: Number(r?.version ?? 0), revision: Number(r?.revision ?? 0) };
}

export async function getTenantSettings(db: Db, tenantId: string): Promise<TenantSettings | null> {
  const [row] = await withDatabase(() =>
    db.select().from(tenantSettings).where(eq(tenantSettings.tenantId, tenantId)),
  );
  if (!row) return null;
  return {
    use: row.use as TenantUse,
    annualRevenueUsd: row.annualRevenueUsd,
    outputTerms: row.outputTerms,
    revision: row.revision,
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt,
  };
}

/**
 * Sets what a tenant declares (only the fields given change; `null` clears revenue or terms).
 * The first declaration must name the use. Revenue is a whole number of USD, 0 or more.
 */
export async function setTenantSettings(
  db: Db,
  input: {
    tenant: string;
    use?: string;
    annualRevenueUsd?: number | null;
    outputTerms?: string | null;
    author: string;
  },
): Promise<TenantSettings> {
  const tenant = await findTenant(db, input.tenant);
  if (input.use !== undefined && !(TENANT_USES as readonly string[]).includes(input.use)) {
    throw new HallmarkError(
      "invalid_request_error",
      `use: expected one of ${TENANT_USES.join(", ")}, got "${input.use}".`,
      { param: "use" },
    );
  }
  const revenue = input.annualRevenueUsd;
  if (
    revenue !== undefined &&
    revenue !== null &&
    (!Number.isSafeInteger(revenue) || revenue < 0)
  ) {
    throw new HallmarkError(
      "invalid_request_error",
      `revenue: expected a whole number of USD, 0 or more, got ${revenue}.`,
      { param: "annual_revenue_usd" },
    );
  }
  if (input.outputTerms && input.outputTerms.length > 1000) {
    throw new HallmarkError("invalid_request_error", "output terms: at most 1000 characters.", {
      param: "output_terms",
    });
  }
  const current = await getTenantSettings(db, tenant.id);
  if (!current && input.use === undefined) {
    throw new HallmarkError(
      "invalid_request_error",
      `Tenant "${input.tenant}" has declared nothing yet: name its use (commercial or non-commercial).`,
      { param: "use" },
    );
  }
  const next = {
    use: (input.use ?? current?.use) as TenantUse,
    annualRevenueUsd: revenue === undefined ? (current?.annualRevenueUsd ?? null) : revenue,
    outputTerms:
      input.outputTerms === undefined ? (current?.outputTerms ?? null) : input.outputTerms || null,
  };
  await withDatabase(() =>
    db
      .insert(tenantSettings)
      .values({ tenantId: tenant.id, ...next, updatedBy: input.author })
      .onConflictDoUpdate({
        target: tenantSettings.tenantId,
        set: {
          ...next,
          updatedBy: input.author,
          updatedAt: new Date(),
          revision: sql`${tenantSettings.revision} + 1`,
        },
      }),
  );
  return (await getTenantSettings(db, tenant.id))!;
}

/** Each tenant's latest policy version (to check that a new base still takes every override). */
export async function latestTenantVersions(
  db: Db,
): Promise<Array<{ id: string; name: string; version: number }>> {
  const rows = await withDatabase(() =>
    db
      .selectDistinctOn([tenantPolicyVersions.tenantId], {
        id: tenantPolicyVersions.tenantId,
        name: tenants.name,
        version: tenantPolicyVersions.version,
      })
      .from(tenantPolicyVersions)
      .innerJoin(tenants, eq(tenants.id, tenantPolicyVersions.tenantId))
      .orderBy(tenantPolicyVersions.tenantId, desc(tenantPolicyVersions.version)),
  );
  return rows;
}
