import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { revokeApiKey } from "../../tenants/index.js";
import { listApiKeys } from "../../tenants/keys.js";

describe.each(testDatabases())("authentication and tenancy on $name", (testDb) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDb);
  });
  afterAll(() => gw.close());

  const json = { prompt: "a cat", size: "256x256" };

  it.each(["/v1/images/generations", "/v1/moderations"])(
    "%s needs a key (401 with WWW-Authenticate)",
    async (path) => {
      const res = await gw.request(path, {
        key: null,
        json: path.includes("moderations") ? { input: "x" } : json,
      });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect((await res.json()).error.code).toBe("missing_api_key");
    },
  );

  it("refuses an unknown key and a malformed header", async () => {
    const res = await gw.request("/v1/images/generations", { key: "hm_notakey", json });
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("invalid_api_key");
    const basic = await gw.request("/v1/images/generations", {
      key: null,
      json,
      headers: { authorization: "Basic Zm9vOmJhcg==" },
    });
    expect(basic.status).toBe(401);
    const long = await gw.request("/v1/images/generations", { key: "x".repeat(10_000), json });
    expect(long.status).toBe(401);
  });

  it("refuses a revoked key once the key cache's time has passed (HALLMARK_AUTH_CACHE_MS)", async () => {
    const { createApiKey } = await import("../../tenants/index.js");
    const { key, info } = await createApiKey(gw.database.db, { tenant: "acme" });
    // The clock stands still until moved: the cache's bound is exact, not raced.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      expect((await gw.request("/v1/images/generations", { key, json })).status).toBe(200);
      await revokeApiKey(gw.database.db, info.id);
      expect((await gw.request("/v1/images/generations", { key, json })).status).toBe(200);
      vi.setSystemTime(Date.now() + gw.config.authCacheMs);
      const res = await gw.request("/v1/images/generations", { key, json });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("invalid_api_key");
    } finally {
      vi.useRealTimers();
    }
  });

  it("another tenant cannot read a generation (404, not 403)", async () => {
    const made = await (await gw.request("/v1/images/generations", { json })).json();
    const id = made.hallmark.generation_id;
    expect((await gw.request(`/v1/generations/${id}`)).status).toBe(200);
    const res = await gw.request(`/v1/generations/${id}`, { key: gw.otherKey });
    expect(res.status).toBe(404);
  });

  it("never puts a key in a response", async () => {
    const res = await gw.request("/v1/images/generations", { json });
    const text = await res.text();
    expect(text).not.toContain(gw.key);
    const keys = await listApiKeys(gw.database.db);
    expect(JSON.stringify(keys)).not.toContain(gw.key);
  });

  it("a key without the route's scope gets 403 insufficient_scope", async () => {
    const { createApiKey } = await import("../../tenants/index.js");
    const { key } = await createApiKey(gw.database.db, { tenant: "acme", scopes: ["review"] });
    const res = await gw.request("/v1/images/generations", { key, json });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("insufficient_scope");
    const mod = await gw.request("/v1/moderations", { key, json: { input: "x" } });
    expect(mod.status).toBe(403);
    const { key: modOnly } = await createApiKey(gw.database.db, {
      tenant: "acme",
      scopes: ["moderate"],
    });
    expect(
      (await gw.request("/v1/moderations", { key: modOnly, json: { input: "x" } })).status,
    ).toBe(200);
    expect((await gw.request("/v1/images/generations", { key: modOnly, json })).status).toBe(403);
  });
});
