/**
 * Test support: a whole gateway (real database, real classifier, real sharp) built from an
 * environment, with a tenant key ready. Used by the HTTP tests on PGlite and PostgreSQL.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Config, loadConfig } from "../config/index.js";
import type { Database } from "../db/index.js";
import type { TestDatabase } from "../db/test-databases.js";
import { createLogger } from "../log/index.js";
import { createApiKey, createTenant } from "../tenants/index.js";
import { createRuntime, type Runtime } from "./create-runtime.js";

export interface TestGateway {
  runtime: Runtime;
  config: Config;
  database: Database;
  /** A key of tenant "acme". */
  key: string;
  /** A key of tenant "other", for cross-tenant checks. */
  otherKey: string;
  request(
    pathname: string,
    init?: RequestInit & { key?: string | null; json?: unknown },
  ): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestGateway(
  testDb: TestDatabase,
  env: Record<string, string> = {},
): Promise<TestGateway> {
  const database = await testDb.open();
  const dataDir = mkdtempSync(path.join(tmpdir(), "hm-test-"));
  // The procedural placeholder unless a test asks for another backend: fast and deterministic.
  const config = loadConfig({
    HALLMARK_DATA_DIR: dataDir,
    HALLMARK_BOOTSTRAP: "false",
    HALLMARK_BACKEND: "placeholder",
    ...env,
  });
  const runtime = await createRuntime(config, {
    logger: createLogger((env.HALLMARK_LOG_LEVEL as "error") ?? "silent"),
    database,
  });
  await createTenant(database.db, "acme");
  await createTenant(database.db, "other");
  const { key } = await createApiKey(database.db, { tenant: "acme" });
  const { key: otherKey } = await createApiKey(database.db, { tenant: "other" });
  return {
    runtime,
    config,
    database,
    key,
    otherKey,
    request: (pathname, init = {}) => {
      const { key: k = key, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (k !== null) headers.set("authorization", `Bearer ${k}`);
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
      await database.close();
    },
  };
}
