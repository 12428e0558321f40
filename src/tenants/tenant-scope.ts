import { inArray } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { tenants } from "../db/schema.js";
import { HallmarkError } from "../errors/index.js";
import { TENANT_NAME_RE } from "./tenants.js";

/**
 * Tenant scopes: the tenants whose requests a reviewer account or a review-scoped key sees in
 * the workspace (docs/review.md). Stored as tenant ids, null meaning every tenant.
 */

/** Most tenants one scope may name. */
export const MAX_SCOPE_TENANTS = 500;

/** A comma-separated list of tenant names as typed in a form or on the command line; "" or "all": null. */
export function parseTenantList(text: string): string[] | null {
  const names = text
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  return names.length === 0 || (names.length === 1 && names[0] === "all") ? null : names;
}

/**
 * The ids of the tenants named. An empty list, more than MAX_SCOPE_TENANTS names or an unknown
 * name is `invalid_request_error` (param `param`).
 */
export async function resolveTenantScope(
  db: Db,
  names: readonly string[],
  param = "tenants",
): Promise<string[]> {
  const wanted = [...new Set(names.map((n) => n.trim()).filter((n) => n !== ""))];
  if (wanted.length === 0)
    throw new HallmarkError(
      "invalid_request_error",
      "Name at least one tenant, or none to see every tenant.",
      { param },
    );
  if (wanted.length > MAX_SCOPE_TENANTS)
    throw new HallmarkError(
      "invalid_request_error",
      `A scope names at most ${MAX_SCOPE_TENANTS} tenants.`,
      { param },
    );
  // A name no tenant can have (NUL, spaces, …) is not looked up: PostgreSQL text cannot hold NUL.
  const valid = wanted.filter((n) => TENANT_NAME_RE.test(n));
  const found =
    valid.length === 0 ? [] : await db.select().from(tenants).where(inArray(tenants.name, valid));
  const missing = wanted.filter((n) => !found.some((t) => t.name === n));
  if (missing.length > 0)
    throw new HallmarkError(
      "invalid_request_error",
      `No tenant named ${missing.map((n) => n.slice(0, 80)).join(", ")}.`,
      { param },
    );
  return found.map((t) => t.id);
}

/** Tenant id → name, to show scopes. */
export async function tenantNamesById(db: Db): Promise<Map<string, string>> {
  return new Map((await db.select().from(tenants)).map((t) => [t.id, t.name]));
}

/** A stored scope as sorted names (ids of tenants since deleted stay as ids); null: every tenant. */
export function scopeNames(ids: readonly string[] | null, names: Map<string, string>) {
  return ids ? ids.map((id) => names.get(id) ?? id).sort() : null;
}
