import { OpenAPIHono } from "@hono/zod-openapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../db/index.js";
import { testDatabases } from "../../db/test-databases.js";
import { createLimits, createPostgresLimitStore } from "../../limits/index.js";
import { authenticate, createApiKey, createTenant } from "../../tenants/index.js";
import type { AppEnv } from "../context.js";
import { errorResponse } from "../errors.js";
import { bearerAuth } from "./auth.js";
import { rateLimit } from "./rate-limit.js";

/** The per-key limit (HALLMARK_RATE_LIMIT_KEY_RPS) inside the tenant's, on a small app. */
describe.each(testDatabases())("per-key rate limit on $name", (testDb) => {
  let database: Database;
  let app: OpenAPIHono<AppEnv>;
  beforeAll(async () => {
    database = await testDb.open();
    const limits = createLimits({
      db: database.db,
      store: createPostgresLimitStore(database.db),
      defaults: { rate: { rps: 0.01, burst: 5 }, quota: { imagesPerDay: 0, imagesPerMonth: 0 } },
      cacheMs: 0,
      perKey: { rps: 0.01, burst: 2 },
    });
    app = new OpenAPIHono<AppEnv>();
    app.onError((error, c) => errorResponse(c, error));
    app.use(
      "/v1/*",
      bearerAuth((key) => authenticate(database.db, key)),
      rateLimit(limits),
    );
    app.get("/v1/x", (c) => c.json({ ok: true }));
  }, 120_000);
  afterAll(() => database?.close());

  it("refuses a key over its own share without spending its tenant's budget", async () => {
    await createTenant(database.db, "keys");
    const a = (await createApiKey(database.db, { tenant: "keys" })).key;
    const b = (await createApiKey(database.db, { tenant: "keys" })).key;
    const get = (key: string) =>
      app.request("http://t/v1/x", { headers: { authorization: `Bearer ${key}` } });
    const first = await get(a);
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-policy")).toBe('"key";q=2;w=200, "rate";q=5;w=500');
    expect(first.headers.get("ratelimit")).toMatch(/^"key";r=1;t=\d+, "rate";r=4;t=\d+$/);
    expect((await get(a)).status).toBe(200);
    const third = await get(a);
    expect(third.status).toBe(429);
    expect((await third.json()).error.code).toBe("rate_limit_exceeded");
    expect(third.headers.get("ratelimit")).toMatch(/^"key";r=0;t=\d+$/);
    // Key a spent 2 of the tenant's 5; key b gets its own 2, then the tenant has 1 left.
    expect((await get(b)).status).toBe(200);
    expect((await get(b)).status).toBe(200);
    expect((await get(b)).status).toBe(429);
    const c = (await createApiKey(database.db, { tenant: "keys" })).key;
    expect((await get(c)).status).toBe(200);
    const tenantSpent = await get(c);
    expect(tenantSpent.status).toBe(429);
    expect(tenantSpent.headers.get("ratelimit")).toMatch(/"rate";r=0;/);
  });
});
