import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Db } from "../db/index.js";
import { createApiKey } from "./keys.js";
import { createTenant, tenantCount } from "./tenants.js";

export const BOOTSTRAP_TENANT = "default";

/**
 * On first start with an empty database, creates the `default` tenant and a key, and writes the
 * key to `<dataDir>/bootstrap-key` with mode 0600. Returns the file path (never the key), or
 * null when the database already had tenants.
 */
export async function bootstrapIfEmpty(db: Db, dataDir: string): Promise<string | null> {
  if ((await tenantCount(db)) > 0) return null;
  await createTenant(db, BOOTSTRAP_TENANT);
  const { key } = await createApiKey(db, { tenant: BOOTSTRAP_TENANT, label: "bootstrap" });
  const file = path.join(dataDir, "bootstrap-key");
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  return file;
}
