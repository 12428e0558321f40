import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { createApiKey, revokeApiKey } from "../../tenants/index.js";

/** GET /v1/generations/{id}: missing key, revoked key, wrong scope, another tenant's id. */
describe.each(testDatabases())("GET /v1/generations/{id} security on $name", (testDb) => {
  let gw: TestGateway;
  let id: string;
  let otherId: string;
  beforeAll(async () => {
    gw = await startTestGateway(testDb);
    const json = { prompt: "a lighthouse at dusk", size: "256x256" };
    id = (await (await gw.request("/v1/images/generations", { json })).json()).hallmark
      .generation_id;
    otherId = (
      await (await gw.request("/v1/images/generations", { key: gw.otherKey, json })).json()
    ).hallmark.generation_id;
  }, 240_000);
  afterAll(() => gw.close());

  it("needs a key: 401 missing_api_key", async () => {
    const res = await gw.request(`/v1/generations/${id}`, { key: null });
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("missing_api_key");
  });

  it("refuses a revoked key with 401 once the key cache's time has passed", async () => {
    const { key, info } = await createApiKey(gw.database.db, { tenant: "acme" });
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      expect((await gw.request(`/v1/generations/${id}`, { key })).status).toBe(200);
      await revokeApiKey(gw.database.db, info.id);
      vi.setSystemTime(Date.now() + gw.config.authCacheMs);
      const res = await gw.request(`/v1/generations/${id}`, { key });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe("invalid_api_key");
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses a key without a reading scope with 403", async () => {
    for (const scopes of [["moderate"], ["review"]]) {
      const { key } = await createApiKey(gw.database.db, { tenant: "acme", scopes });
      const res = await gw.request(`/v1/generations/${id}`, { key });
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe("insufficient_scope");
    }
  });

  it("another tenant's id is a 404 indistinguishable from an id that does not exist", async () => {
    const theirs = await gw.request(`/v1/generations/${otherId}`);
    expect(theirs.status).toBe(404);
    const none = await gw.request("/v1/generations/00000000-0000-4000-8000-000000000000");
    expect(none.status).toBe(404);
    const a = (await theirs.json()).error;
    const b = (await none.json()).error;
    expect(a.code).toBe(b.code);
    expect(a.message.replace(otherId, "ID")).toBe(
      b.message.replace("00000000-0000-4000-8000-000000000000", "ID"),
    );
    // And the owner still reads it.
    expect((await gw.request(`/v1/generations/${otherId}`, { key: gw.otherKey })).status).toBe(200);
  });

  it("answers malformed ids with 4xx, never 5xx", async () => {
    for (const bad of ["x", "%00", "1' or '1'='1", "a".repeat(500)]) {
      const res = await gw.request(`/v1/generations/${encodeURIComponent(bad)}`);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
  });
});
