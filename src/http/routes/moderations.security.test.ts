import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { createApiKey, revokeApiKey } from "../../tenants/index.js";

/**
 * POST /v1/moderations: missing key, revoked key, wrong scope. It has no stored resources, so
 * "another tenant's ids" does not apply; what one tenant moderates is never shown to another.
 */
describe.each(testDatabases())("POST /v1/moderations security on $name", (testDb) => {
  let gw: TestGateway;
  const json = { input: "a sunny meadow" };
  beforeAll(async () => {
    gw = await startTestGateway(testDb);
  }, 240_000);
  afterAll(() => gw.close());

  it("needs a key: 401 missing_api_key with WWW-Authenticate", async () => {
    const res = await gw.request("/v1/moderations", { key: null, json });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await res.json()).error.code).toBe("missing_api_key");
  });

  it("refuses a revoked key with 401 invalid_api_key once the key cache's time has passed", async () => {
    const { key, info } = await createApiKey(gw.database.db, { tenant: "acme" });
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      expect((await gw.request("/v1/moderations", { key, json })).status).toBe(200);
      await revokeApiKey(gw.database.db, info.id);
      vi.setSystemTime(Date.now() + gw.config.authCacheMs);
      const res = await gw.request("/v1/moderations", { key, json });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("invalid_api_key");
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses a key without the moderate scope with 403, before reading the body", async () => {
    for (const scopes of [["generate"], ["review"]]) {
      const { key } = await createApiKey(gw.database.db, { tenant: "acme", scopes });
      const res = await gw.request("/v1/moderations", { key, json });
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe("insufficient_scope");
      const junk = await gw.request("/v1/moderations", {
        key,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      expect(junk.status).toBe(403);
    }
  });

  it("answers another tenant's key the same way and echoes no key", async () => {
    const mine = await (await gw.request("/v1/moderations", { json })).text();
    const theirs = await (await gw.request("/v1/moderations", { key: gw.otherKey, json })).text();
    expect(JSON.parse(theirs).results).toEqual(JSON.parse(mine).results);
    expect(mine + theirs).not.toContain(gw.key);
    expect(mine + theirs).not.toContain(gw.otherKey);
  });
});
