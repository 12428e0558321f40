import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { createApiKey, revokeApiKey } from "../../tenants/index.js";

const PNG = { size: "256x256", output_format: "png" };

describe.each(testDatabases())("admin policy API ($name)", (testDb) => {
  let gw: TestGateway;
  let admin: string;
  let adminId: string;
  beforeAll(async () => {
    gw = await startTestGateway(testDb, { HALLMARK_POLICY_CACHE_MS: "0" });
    const made = await createApiKey(gw.database.db, { tenant: "other", scopes: ["admin"] });
    admin = made.key;
    adminId = made.info.id;
  }, 300_000);
  afterAll(() => gw.close());

  describe("happy", () => {
    it("a tenant without an override has the base policy and no versions", async () => {
      const res = await gw.request("/v1/admin/tenants/acme/policy", { key: admin });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({ tenant: "acme", version: null, latest: null });
      expect(body.policy.id).toBe("default");
      expect(body.effective.categories.sexual).toEqual({ review: 0.5, block: 0.7 });
    });

    it("PUT appends a version; the next generation decides, records and signs under it", async () => {
      const put = await gw.request("/v1/admin/tenants/acme/policy", {
        key: admin,
        method: "PUT",
        json: {
          override_yaml:
            "rules:\n  - { id: no-clowns, category: harassment, words: [clown], score: 0.9 }\n",
          comment: "no clowns for acme",
        },
      });
      expect(put.status).toBe(201);
      const v1 = await put.json();
      expect(v1).toMatchObject({
        tenant: "acme",
        version: 1,
        base: "default",
        comment: "no clowns for acme",
      });
      expect(v1.author).toBe(`key:${adminId} (other)`);
      expect(v1.hash).toMatch(/^[0-9a-f]{64}$/);

      // acme is now refused what other may still make.
      const refused = await gw.request("/v1/images/generations", {
        json: { prompt: "a clown at a birthday party", ...PNG },
      });
      expect(refused.status).toBe(400);
      const err = (await refused.json()).error;
      expect(err.code).toBe("content_policy_violation");
      expect(err.policy).toEqual({ id: "default+acme.v1", hash: v1.hash });
      const row = await gw.request(`/v1/generations/${err.generation_id}`);
      const record = await row.json();
      expect(JSON.stringify(record)).toContain("rules.no-clowns");

      const ok = await gw.request("/v1/images/generations", {
        key: gw.otherKey,
        json: { prompt: "a clown at a birthday party", ...PNG },
      });
      expect(ok.status).toBe(200);
      expect((await ok.json()).hallmark.decision.policy.id).toBe("default");

      // acme's allowed generations carry its policy id and hash in the signed manifest.
      const made = await gw.request("/v1/images/generations", {
        json: { prompt: "a lighthouse at dusk", ...PNG },
      });
      expect(made.status).toBe(200);
      const m = await made.json();
      expect(m.hallmark.decision.policy).toEqual({ id: "default+acme.v1", hash: v1.hash });
      const verify = await gw.request("/v1/provenance/verify", {
        key: null,
        method: "POST",
        headers: { "content-type": "image/png" },
        body: Buffer.from(m.data[0].b64_json, "base64"),
      });
      expect((await verify.json()).c2pa.generation.policy).toEqual({
        id: "default+acme.v1",
        hash: v1.hash,
      });
    });

    it("lists versions newest first; a JSON override works too; {} reverts to the base", async () => {
      const put = await gw.request("/v1/admin/tenants/acme/policy", {
        key: admin,
        method: "PUT",
        json: { override: {} },
      });
      expect(put.status).toBe(201);
      const list = await (
        await gw.request("/v1/admin/tenants/acme/policy/versions", { key: admin })
      ).json();
      expect(list.data.map((v: { version: number }) => v.version)).toEqual([2, 1]);
      const clown = await gw.request("/v1/images/generations", {
        json: { prompt: "a clown at a birthday party", ...PNG },
      });
      expect(clown.status).toBe(200);
      expect((await clown.json()).hallmark.decision.policy.id).toBe("default+acme.v2");
    });

    it("declarations: PUT and GET settings", async () => {
      const put = await gw.request("/v1/admin/tenants/acme/settings", {
        key: admin,
        method: "PUT",
        json: { use: "non-commercial", output_terms: "editorial use only" },
      });
      expect(put.status).toBe(200);
      expect(await put.json()).toMatchObject({
        use: "non-commercial",
        output_terms: "editorial use only",
        revision: 1,
      });
      const got = await (
        await gw.request("/v1/admin/tenants/acme/settings", { key: admin })
      ).json();
      expect(got).toMatchObject({
        tenant: "acme",
        use: "non-commercial",
        annual_revenue_usd: null,
      });
    });
  });

  describe("error", () => {
    it("a bad override is a 400 naming the line, and no version is written", async () => {
      const res = await gw.request("/v1/admin/tenants/other/policy", {
        key: admin,
        method: "PUT",
        json: { override_yaml: "categories:\n  sexual: { review: 2 }\n" },
      });
      expect(res.status).toBe(400);
      const err = (await res.json()).error;
      expect(err.code).toBe("invalid_request_error");
      expect(err.message).toMatch(/override:2: categories\.sexual/);
      const list = await (
        await gw.request("/v1/admin/tenants/other/policy/versions", { key: admin })
      ).json();
      expect(list.data).toEqual([]);
    });

    it("both or neither of override and override_yaml, unknown fields, unknown base: 400 or 404", async () => {
      for (const json of [{}, { override: {}, override_yaml: "" }]) {
        const res = await gw.request("/v1/admin/tenants/other/policy", {
          key: admin,
          method: "PUT",
          json,
        });
        expect(res.status).toBe(400);
      }
      const extra = await gw.request("/v1/admin/tenants/other/policy", {
        key: admin,
        method: "PUT",
        json: { override: {}, author: "me" },
      });
      expect(extra.status).toBe(400);
      const base = await gw.request("/v1/admin/tenants/other/policy", {
        key: admin,
        method: "PUT",
        json: { override: { base: "strict" } },
      });
      expect(base.status).toBe(404);
      expect((await base.json()).error.message).toMatch(/No base policy "strict"/);
    });

    it("an unknown tenant is 404; bad settings are 400", async () => {
      expect((await gw.request("/v1/admin/tenants/nobody/policy", { key: admin })).status).toBe(
        404,
      );
      expect(
        (await gw.request("/v1/admin/tenants/nobody/policy/versions", { key: admin })).status,
      ).toBe(404);
      const bad = await gw.request("/v1/admin/tenants/other/settings", {
        key: admin,
        method: "PUT",
        json: { use: "sometimes" },
      });
      expect(bad.status).toBe(400);
      const neg = await gw.request("/v1/admin/tenants/other/settings", {
        key: admin,
        method: "PUT",
        json: { use: "commercial", annual_revenue_usd: -5 },
      });
      expect(neg.status).toBe(400);
    });

    it("a NUL byte in the tenant name is a 400, not a 500 (found by the fuzz sweep)", async () => {
      for (const path of ["policy", "policy/versions", "settings"]) {
        const res = await gw.request(`/v1/admin/tenants/a%00b/${path}`, { key: admin });
        expect(res.status).toBe(400);
        expect((await res.json()).error.code).toBe("invalid_request_error");
      }
    });
  });

  describe("security", () => {
    it("no key 401; a tenant's own generate key 403 (it cannot change its own policy)", async () => {
      expect((await gw.request("/v1/admin/tenants/acme/policy", { key: null })).status).toBe(401);
      const own = await gw.request("/v1/admin/tenants/acme/policy", {
        method: "PUT",
        json: { override: { categories: { sexual: { block: 1, review: 1 } } } },
      });
      expect(own.status).toBe(403);
      expect((await own.json()).error.code).toBe("insufficient_scope");
      expect((await gw.request("/v1/admin/tenants/acme/policy/versions")).status).toBe(403);
      expect((await gw.request("/v1/admin/tenants/acme/settings")).status).toBe(403);
    });

    it("a revoked admin key is 401", async () => {
      const { key, info } = await createApiKey(gw.database.db, {
        tenant: "other",
        scopes: ["admin"],
      });
      await revokeApiKey(gw.database.db, info.id);
      expect((await gw.request("/v1/admin/tenants/acme/policy", { key })).status).toBe(401);
    });

    it("the versions never reveal a key, only the author key's id", async () => {
      const list = await (
        await gw.request("/v1/admin/tenants/acme/policy/versions", { key: admin })
      ).json();
      expect(JSON.stringify(list)).not.toContain(admin);
      expect(JSON.stringify(list)).not.toContain(gw.key);
    });
  });
});
