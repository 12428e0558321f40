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

describe.each(testDatabases())("wrong API keys from one address on $name", (testDb) => {
  let gw: TestGateway;
  const json = { input: "a sunny meadow" };
  beforeAll(async () => {
    gw = await startTestGateway(testDb, {
      HALLMARK_AUTH_FAILURES_PER_MINUTE: "3",
      HALLMARK_TRUST_PROXY: "true",
    });
  }, 240_000);
  afterAll(() => gw.close());

  const from = (address: string, key: string) =>
    gw.request("/v1/moderations", { key, json, headers: { "x-forwarded-for": address } });

  it("refuses an address with 429 after its allowance of wrong keys, without looking keys up", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const wrong = "hm_not-a-key";
      for (let i = 0; i < 3; i++) {
        const res = await from("203.0.113.7", wrong);
        expect(res.status).toBe(401);
        expect((await res.json()).error.code).toBe("invalid_api_key");
      }
      const refused = await from("203.0.113.7", wrong);
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toBe("20"); // a minute / 3 tries
      expect((await refused.json()).error).toMatchObject({
        type: "rate_limit_error",
        code: "rate_limit_exceeded",
      });
      // Refused before any lookup: even a good key from that address.
      expect((await from("203.0.113.7", gw.key)).status).toBe(429);
      // Another address is not affected.
      expect((await from("198.51.100.9", gw.key)).status).toBe(200);
      expect((await from("198.51.100.9", wrong)).status).toBe(401);
      // One try refills in 20 s: the good key is served, a wrong one spends the try.
      vi.setSystemTime(Date.now() + 20_000);
      expect((await from("203.0.113.7", gw.key)).status).toBe(200);
      expect((await from("203.0.113.7", wrong)).status).toBe(401);
      expect((await from("203.0.113.7", wrong)).status).toBe(429);
    } finally {
      vi.useRealTimers();
    }
  });

  it("does not count a missing key (nothing is looked up)", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await gw.request("/v1/moderations", {
        key: null,
        json,
        headers: { "x-forwarded-for": "192.0.2.44" },
      });
      expect(res.status).toBe(401);
    }
    // The other tenant: acme's rate limit was spent 20 s ahead on the faked clock above.
    expect((await from("192.0.2.44", gw.otherKey)).status).toBe(200);
  });
});
