import { createHash, randomBytes } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { apiKeys, tenants } from "../db/schema.js";
import { HallmarkError } from "../errors/index.js";
import { resolveTenantScope, scopeNames, tenantNamesById } from "./tenant-scope.js";

/** Every key starts with this, so leaked keys are easy to find by secret scanners. */
export const KEY_PREFIX = "hm_";
/** How many leading characters of a key are kept in clear, to tell keys apart in listings. */
const SHOWN_PREFIX_LENGTH = KEY_PREFIX.length + 6;

/**
 * What a key may do. `review` opens the reviewers' workspace (src/review), on every tenant or on
 * those of the key's review scope;
 * `audit-read` reads the tenant's own generation records and usage without generating;
 * `admin` is the operator's: every tenant's usage (/v1/admin/*). docs/limits.md lists the
 * scope of every route.
 */
export const SCOPES = ["generate", "moderate", "verify", "review", "audit-read", "admin"] as const;
export type Scope = (typeof SCOPES)[number];
/** The scopes of a key created without `scopes`: the gateway's API, not the workspace. */
export const DEFAULT_SCOPES: readonly Scope[] = ["generate", "moderate", "verify"];

/** The authenticated caller of a request. */
export interface Principal {
  tenantId: string;
  tenantName: string;
  apiKeyId: string;
  /** The key's scopes (absent only on principals built by older code). */
  scopes?: string[];
  /** A `review` key's tenant scope in the workspace (tenant ids); null or absent: every tenant. */
  reviewTenantIds?: readonly string[] | null;
}

export interface ApiKeyInfo {
  id: string;
  tenant: string;
  prefix: string;
  label: string | null;
  scopes: string[];
  /** Names of the tenants a `review` key sees in the workspace; null: every tenant. */
  reviewTenants: string[] | null;
  createdAt: Date;
  revokedAt: Date | null;
}

/** SHA-256 of the key string, hex. Keys carry 256 random bits, so a fast hash is enough. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/**
 * Creates a key for a tenant and returns it once; only its hash is stored.
 *
 * @example const { key } = await createApiKey(db, { tenant: "acme" }); // "hm_…"
 */
export async function createApiKey(
  db: Db,
  options: {
    tenant: string;
    label?: string;
    scopes?: readonly string[];
    /**
     * For a key with the `review` scope: the tenants (names) whose requests it sees in the
     * workspace. Absent or null: every tenant.
     */
    reviewTenants?: readonly string[] | null;
  },
): Promise<{ key: string; info: ApiKeyInfo }> {
  const scopes = [...new Set(options.scopes ?? DEFAULT_SCOPES)];
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0 || scopes.length === 0) {
    throw new HallmarkError(
      "invalid_request_error",
      `Unknown or empty scopes: ${unknown.join(", ") || "(none)"}; known: ${SCOPES.join(", ")}.`,
      { param: "scopes" },
    );
  }
  if (options.reviewTenants != null && !scopes.includes("review")) {
    throw new HallmarkError(
      "invalid_request_error",
      "A review tenant scope applies only to a key with the review scope.",
      { param: "review_tenants" },
    );
  }
  const [tenant] = await db.select().from(tenants).where(eq(tenants.name, options.tenant));
  if (!tenant) throw new HallmarkError("not_found", `No tenant named "${options.tenant}".`);
  const reviewTenantIds =
    options.reviewTenants == null
      ? null
      : await resolveTenantScope(db, options.reviewTenants, "review_tenants");
  const key = `${KEY_PREFIX}${randomBytes(32).toString("base64url")}`;
  const [row] = await db
    .insert(apiKeys)
    .values({
      tenantId: tenant.id,
      keyHash: hashKey(key),
      prefix: key.slice(0, SHOWN_PREFIX_LENGTH),
      label: options.label ?? null,
      scopes,
      reviewTenantIds,
    })
    .returning();
  const names = reviewTenantIds ? await tenantNamesById(db) : new Map<string, string>();
  return { key, info: toInfo(row!, tenant.name, names) };
}

export async function listApiKeys(
  db: Db,
  options: { tenant?: string } = {},
): Promise<ApiKeyInfo[]> {
  const rows = await db
    .select({ key: apiKeys, tenant: tenants.name })
    .from(apiKeys)
    .innerJoin(tenants, eq(apiKeys.tenantId, tenants.id))
    .where(options.tenant ? eq(tenants.name, options.tenant) : undefined)
    .orderBy(apiKeys.createdAt);
  const names = rows.some((r) => r.key.reviewTenantIds)
    ? await tenantNamesById(db)
    : new Map<string, string>();
  return rows.map((r) => toInfo(r.key, r.tenant, names));
}

/** Revokes by key id or by the shown prefix. Returns false when nothing matched. */
export async function revokeApiKey(db: Db, idOrPrefix: string): Promise<boolean> {
  const byId = /^[0-9a-f-]{36}$/i.test(idOrPrefix);
  const rows = await db
    .update(apiKeys)
    .set({ revokedAt: new Date() })
    .where(
      and(
        byId ? eq(apiKeys.id, idOrPrefix) : eq(apiKeys.prefix, idOrPrefix),
        isNull(apiKeys.revokedAt),
      ),
    )
    .returning({ id: apiKeys.id });
  return rows.length > 0;
}

/**
 * Resolves a presented key to its principal. Unknown and revoked keys are both
 * `invalid_api_key`, so a caller cannot probe which keys once existed.
 */
export async function authenticate(db: Db, presented: string): Promise<Principal> {
  const [row] = await db
    .select({ key: apiKeys, tenant: tenants.name })
    .from(apiKeys)
    .innerJoin(tenants, eq(apiKeys.tenantId, tenants.id))
    .where(eq(apiKeys.keyHash, hashKey(presented)));
  // The lookup is by hash, so timing reveals nothing about the key itself.
  if (!row || row.key.revokedAt) {
    throw new HallmarkError("invalid_api_key", "Incorrect or revoked API key provided.");
  }
  return {
    tenantId: row.key.tenantId,
    tenantName: row.tenant,
    apiKeyId: row.key.id,
    scopes: row.key.scopes,
    reviewTenantIds: row.key.reviewTenantIds,
  };
}

function toInfo(
  row: typeof apiKeys.$inferSelect,
  tenant: string,
  names: Map<string, string>,
): ApiKeyInfo {
  return {
    id: row.id,
    tenant,
    prefix: row.prefix,
    label: row.label,
    scopes: row.scopes,
    reviewTenants: scopeNames(row.reviewTenantIds, names),
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
  };
}
