import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";

/**
 * POST /v1/provenance/verify is public by design (anyone may ask whether an image was made
 * here). What it must not do is leak across tenants: verifying another tenant's image names the
 * generation and its credentials, never the tenant, the prompt or a key. And a bad key does not
 * turn a public answer into an error oracle.
 */
describe.each(testDatabases())("POST /v1/provenance/verify security on $name", (testDb) => {
  let gw: TestGateway;
  let image: Buffer;
  const prompt = "a lighthouse at dusk, verify-secret-4471";
  beforeAll(async () => {
    gw = await startTestGateway(testDb);
    const made = await (
      await gw.request("/v1/images/generations", {
        key: gw.otherKey,
        json: { prompt, size: "256x256" },
      })
    ).json();
    image = Buffer.from(made.data[0].b64_json, "base64");
  }, 240_000);
  afterAll(() => gw.close());

  const verify = (headers: Record<string, string> = {}) =>
    gw.request("/v1/provenance/verify", {
      key: null,
      method: "POST",
      headers: { "content-type": "image/png", ...headers },
      body: new Uint8Array(image),
    });

  it("answers without a key, and the same with a revoked, unknown or other tenant's key", async () => {
    const open = await verify();
    expect(open.status).toBe(200);
    const base = await open.json();
    expect(base.produced_here).toBe(true);
    for (const authorization of [`Bearer ${gw.key}`, "Bearer hm_notakey", "Basic Zm9vOmJhcg=="]) {
      const res = await verify({ authorization });
      expect(res.status).toBe(200);
      expect((await res.json()).produced_here).toBe(true);
    }
  });

  it("never reveals the producing tenant, its prompt or any key", async () => {
    const text = await (await verify({ authorization: `Bearer ${gw.key}` })).text();
    expect(text).not.toContain("verify-secret-4471");
    expect(text).not.toContain('"other"');
    expect(text).not.toContain(gw.key);
    expect(text).not.toContain(gw.otherKey);
  });

  it("refuses non-image bodies with 4xx in the error shape", async () => {
    const res = await gw.request("/v1/provenance/verify", {
      key: null,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(415);
    expect((await res.json()).error.code).toBe("unsupported_media_type");
  });
});
