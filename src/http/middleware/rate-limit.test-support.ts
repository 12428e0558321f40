/**
 * Test support for the limiter's HTTP tests: a second gateway (a replica) on the database of a
 * test gateway (a second connection pool on PostgreSQL; the same in-process PGlite), and
 * tenants with their own limits and keys.
 */

import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../config/index.js";
import { type Database, openDatabase } from "../../db/index.js";
import { setTenantLimits, type TenantLimitOverrides } from "../../limits/index.js";
import { createLogger } from "../../log/index.js";
import { createRuntime, type Runtime } from "../../runtime/create-runtime.js";
import type { TestGateway } from "../../runtime/test-gateway.js";
import { createApiKey, createTenant } from "../../tenants/index.js";

export interface Replica {
  runtime: Runtime;
  request(
    pathname: string,
    init?: RequestInit & { key?: string; json?: unknown },
  ): Promise<Response>;
  close(): Promise<void>;
}

/** Another gateway process's view: its own runtime (and pool) over the same database. */
export async function startReplica(gw: TestGateway, env: Record<string, string>): Promise<Replica> {
  const url = (gw.database as Database & { url?: string }).url;
  const database = url ? await openDatabase({ url, maxConnections: 5 }) : gw.database;
  const dataDir = mkdtempSync(path.join(tmpdir(), "hm-replica-"));
  const config = loadConfig({
    HALLMARK_DATA_DIR: dataDir,
    HALLMARK_BOOTSTRAP: "false",
    HALLMARK_BACKEND: "placeholder",
    ...env,
  });
  const runtime = await createRuntime(config, { logger: createLogger("silent"), database });
  return {
    runtime,
    request: (pathname, init = {}) => {
      const { key, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key) headers.set("authorization", `Bearer ${key}`);
      if (json !== undefined) headers.set("content-type", "application/json");
      const body = json !== undefined ? JSON.stringify(json) : rest.body;
      return Promise.resolve(
        runtime.app.request(`http://hallmark.test${pathname}`, {
          ...rest,
          method: rest.method ?? (body !== undefined ? "POST" : "GET"),
          headers,
          body,
        }),
      );
    },
    close: async () => {
      await runtime.close();
      if (database !== gw.database) await database.close();
    },
  };
}

/** A fresh tenant with the given overrides and a key (default scopes unless named). */
export async function limitedTenant(
  gw: TestGateway,
  overrides: Partial<TenantLimitOverrides>,
  scopes?: string[],
): Promise<{ name: string; id: string; key: string }> {
  const name = `t${randomBytes(4).toString("hex")}`;
  const tenant = await createTenant(gw.database.db, name);
  await setTenantLimits(gw.database.db, name, overrides);
  const { key } = await createApiKey(gw.database.db, { tenant: name, scopes });
  return { name, id: tenant.id, key };
}
