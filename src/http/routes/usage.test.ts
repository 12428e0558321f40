import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { createApiKey, listApiKeys, revokeApiKey } from "../../tenants/index.js";

vi.setConfig({ testTimeout: 120_000 });

const today = () => new Date().toISOString().slice(0, 10);

/** Usage per tenant per day: the tenant's own (GET /v1/usage) and every tenant's (admin). */
describe.each(testDatabases())("usage reports on $name", (testDb) => {
  let gw: TestGateway;
  let adminKey: string;
  let auditKey: string;
  let generationId: string;
  beforeAll(async () => {
    gw = await startTestGateway(testDb, { HALLMARK_QUOTA_IMAGES_PER_MONTH: "1000" });
    adminKey = (await createApiKey(gw.database.db, { tenant: "other", scopes: ["admin"] })).key;
    auditKey = (await createApiKey(gw.database.db, { tenant: "acme", scopes: ["audit-read"] })).key;
    // acme: two completed requests (1 + 2 images) and one refusal; other: one completed.
    const one = await gw.request("/v1/images/generations", {
      json: { prompt: "a lighthouse at dusk", size: "256x256" },
    });
    expect(one.status).toBe(200);
    generationId = (await one.json()).hallmark.generation_id;
    const two = await gw.request("/v1/images/generations", {
      json: { prompt: "a watercolour fox", size: "256x256", n: 2 },
    });
    expect(two.status).toBe(200);
    const refused = await gw.request("/v1/images/generations", {
      json: { prompt: "explicit porn of a nude woman" },
    });
    expect(refused.status).toBe(400);
    const other = await gw.request("/v1/images/generations", {
      key: gw.otherKey,
      json: { prompt: "a red bicycle", size: "256x256" },
    });
    expect(other.status).toBe(200);
  }, 300_000);
  afterAll(() => gw?.close());

  const acmeRow = () => ({
    date: today(),
    tenant: "acme",
    requests: 3,
    completed: 2,
    images: 3,
    refused: 1,
    failed: 0,
  });

  it("gives a tenant its own usage per day, with its limits and the quota used", async () => {
    const res = await gw.request("/v1/usage");
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ object: "list", tenant: "acme", to: today() });
    expect(body.data).toEqual([acmeRow()]);
    expect(body.limits).toMatchObject({
      rate: { rps: 100, burst: 200 },
      images_per_day: { limit: 0, used: 3 },
      images_per_month: { limit: 1000, used: 3 },
    });
    expect(body.limits.images_per_day.resets_in_seconds).toBeGreaterThan(0);
  });

  it("exports the same as CSV", async () => {
    const res = await gw.request(`/v1/usage?format=csv&from=${today()}&to=${today()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(res.headers.get("content-disposition")).toContain(
      `usage-acme-${today()}-${today()}.csv`,
    );
    expect(await res.text()).toBe(
      `date,tenant,requests,completed,images,refused,failed\r\n${today()},acme,3,2,3,1,0\r\n`,
    );
  });

  it("never shows a tenant another tenant's usage", async () => {
    const res = await gw.request("/v1/usage?tenant=acme", { key: gw.otherKey });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.tenant).toBe("other");
    expect(body.data.map((r: { tenant: string }) => r.tenant)).toEqual(["other"]);
    expect((await gw.request("/v1/admin/usage?tenant=acme", { key: gw.otherKey })).status).toBe(
      403,
    );
  });

  it("gives an admin key every tenant's usage, one tenant's, and CSV", async () => {
    const all = await (await gw.request("/v1/admin/usage", { key: adminKey })).json();
    expect(all.tenant).toBeNull();
    expect(all.data).toEqual([
      acmeRow(),
      {
        date: today(),
        tenant: "other",
        requests: 1,
        completed: 1,
        images: 1,
        refused: 0,
        failed: 0,
      },
    ]);
    const one = await (await gw.request("/v1/admin/usage?tenant=acme", { key: adminKey })).json();
    expect(one.data).toEqual([acmeRow()]);
    const csv = await gw.request("/v1/admin/usage?format=csv", { key: adminKey });
    expect((await csv.text()).split("\r\n")).toHaveLength(4);
    const unknown = await gw.request("/v1/admin/usage?tenant=nobody", { key: adminKey });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe("not_found");
  });

  it("lets an audit-read key read records and usage but not generate or administer", async () => {
    expect((await gw.request("/v1/usage", { key: auditKey })).status).toBe(200);
    expect((await gw.request(`/v1/generations/${generationId}`, { key: auditKey })).status).toBe(
      200,
    );
    const generate = await gw.request("/v1/images/generations", {
      key: auditKey,
      json: { prompt: "a cat" },
    });
    expect(generate.status).toBe(403);
    expect((await generate.json()).error.code).toBe("insufficient_scope");
    expect((await gw.request("/v1/admin/usage", { key: auditKey })).status).toBe(403);
    // An admin key is not a generating key.
    expect(
      (await gw.request("/v1/images/generations", { key: adminKey, json: { prompt: "a cat" } }))
        .status,
    ).toBe(403);
    // Another tenant's audit-read key cannot read acme's record.
    const { key: otherAudit } = await createApiKey(gw.database.db, {
      tenant: "other",
      scopes: ["audit-read"],
    });
    expect((await gw.request(`/v1/generations/${generationId}`, { key: otherAudit })).status).toBe(
      404,
    );
  });

  it("wants a valid key: missing, unknown, revoked and review-only keys are refused", async () => {
    expect((await gw.request("/v1/usage", { key: null })).status).toBe(401);
    expect((await gw.request("/v1/admin/usage", { key: null })).status).toBe(401);
    expect((await gw.request("/v1/usage", { key: "hm_nope" })).status).toBe(401);
    const { key, info } = await createApiKey(gw.database.db, {
      tenant: "acme",
      scopes: ["admin"],
    });
    await revokeApiKey(gw.database.db, info.id);
    expect((await gw.request("/v1/admin/usage", { key })).status).toBe(401);
    const { key: reviewer } = await createApiKey(gw.database.db, {
      tenant: "acme",
      scopes: ["review"],
    });
    expect((await gw.request("/v1/usage", { key: reviewer })).status).toBe(403);
    expect((await listApiKeys(gw.database.db, { tenant: "acme" })).length).toBeGreaterThan(2);
  });

  it("refuses bad ranges with 400 in the error shape", async () => {
    for (const query of [
      "from=2026-13-01",
      "to=yesterday",
      "from=2026-02-30",
      "from=2026-03-02&to=2026-03-01",
      "from=2024-01-01&to=2026-01-01",
      "format=xml",
    ]) {
      const res = await gw.request(`/v1/usage?${query}`);
      expect(res.status, query).toBe(400);
      expect((await res.json()).error.type).toBe("invalid_request_error");
    }
    const empty = await (await gw.request("/v1/usage?from=2020-01-01&to=2020-01-31")).json();
    expect(empty.data).toEqual([]);
  });
});
