import { count, eq } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { tenants } from "../db/schema.js";
import { HallmarkError } from "../errors/index.js";

/** What a tenant name may be. */
export const TENANT_NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export interface TenantInfo {
  id: string;
  name: string;
  createdAt: Date;
}

/** Creates a tenant. Names are lower-case slugs: letters, digits, `_`, `.`, `-`. */
export async function createTenant(db: Db, name: string): Promise<TenantInfo> {
  if (!TENANT_NAME_RE.test(name)) {
    throw new HallmarkError(
      "invalid_request_error",
      `Tenant names are 1-63 lower-case letters, digits, "_", "." or "-", starting with a letter or digit; got "${name}".`,
      { param: "name" },
    );
  }
  const existing = await db.select().from(tenants).where(eq(tenants.name, name));
  if (existing.length > 0) {
    throw new HallmarkError("invalid_request_error", `Tenant "${name}" already exists.`, {
      param: "name",
    });
  }
  const [row] = await db.insert(tenants).values({ name }).returning();
  return row!;
}

export async function listTenants(db: Db): Promise<TenantInfo[]> {
  return db.select().from(tenants).orderBy(tenants.createdAt);
}

export async function tenantCount(db: Db): Promise<number> {
  const [row] = await db.select({ n: count() }).from(tenants);
  return row?.n ?? 0;
}
