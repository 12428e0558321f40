import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../config/index.js";
import { testDatabases } from "../db/test-databases.js";
import {
  loadLicenceRegistry,
  loadPolicyFile,
  setTenantSettings,
  type TenantSettings,
} from "../policy/index.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { licenceAudit } from "./licence-audit.js";

const declared = (s: Partial<TenantSettings>): TenantSettings => ({
  use: "commercial",
  annualRevenueUsd: null,
  outputTerms: null,
  revision: 1,
  updatedBy: "t",
  updatedAt: new Date(0),
  ...s,
});

describe("licenceAudit verdicts for a tenant's declarations", () => {
  it("gives each verdict with its reason, the use checked and the output terms", async () => {
    const registry = await loadLicenceRegistry(path.join(PACKAGE_ROOT, "policies/licences"));
    const policy = await loadPolicyFile(path.join(PACKAGE_ROOT, "policies/default.yaml"));
    const audit = (model: string, s: TenantSettings | null) =>
      licenceAudit(registry, policy, model, [], s);

    const flux = audit("flux1-dev", declared({ outputTerms: "royalty-free standard licence" }));
    expect(flux.verdict?.allowed).toBe(false);
    expect(flux.checked_as).toBe("commercial");
    expect(flux.verdict?.reasons[0]).toMatch(/does not allow commercial use/);
    expect(flux.statement.usageTerms).toMatch(
      /^royalty-free standard licence\. Licence check \(commercial use\): not permitted: /,
    );
    expect(audit("flux1-dev", declared({ use: "non-commercial" })).verdict?.allowed).toBe(true);
    // Declared nothing: checked as the policy says (commercial by default).
    expect(audit("flux1-dev", null)).toMatchObject({
      checked_as: "commercial",
      declared: { use: null, annual_revenue_usd: null, output_terms: null },
      verdict: { allowed: false },
    });
    const sd35 = "stable-diffusion-3.5-large";
    expect(audit(sd35, declared({ annualRevenueUsd: 5_000_000 })).verdict?.reasons[0]).toMatch(
      /up to USD 1,000,000 \(declared: USD 5,000,000\)/,
    );
    expect(audit(sd35, declared({ annualRevenueUsd: 999_999 })).verdict?.allowed).toBe(true);
    expect(audit(sd35, declared({})).verdict?.reasons[0]).toMatch(/not declared/);
    // Unknown licence: no verdict, said as such, never guessed.
    const unknown = audit("gpt-image-1", declared({ outputTerms: "editorial" }));
    expect(unknown).toMatchObject({ known: false, verdict: null, output_terms: "editorial" });
    expect(unknown.statement.usageTerms).toMatch(/not known/);
  });
});

describe.each(testDatabases())("licence audit of requests ($name)", (testDb) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDb, { HALLMARK_POLICY_CACHE_MS: "0" });
  }, 300_000);
  afterAll(() => gw.close());

  const generate = (json: Record<string, unknown>, key?: string) =>
    gw.request("/v1/images/generations", {
      ...(key ? { key } : {}),
      json: { prompt: "a lighthouse at dusk", size: "256x256", ...json },
    });

  it("refuses FLUX.1 [dev] to a commercial tenant before generating: 403, recorded", async () => {
    await setTenantSettings(gw.database.db, { tenant: "acme", use: "commercial", author: "t" });
    const res = await generate({ model: "flux1-dev" });
    expect(res.status).toBe(403);
    const err = (await res.json()).error;
    expect(err).toMatchObject({ code: "licence_not_permitted", param: "model" });
    expect(err.message).toMatch(/FLUX\.1 \[dev\].*does not allow commercial use/);
    expect(err.licence).toMatchObject({
      id: "flux-1-dev-non-commercial",
      checked_as: "commercial",
      allowed: false,
    });
    const record = await (await gw.request(`/v1/generations/${err.generation_id}`)).json();
    expect(record).toMatchObject({
      status: "refused",
      error_code: "licence_not_permitted",
      images: [],
    });
    expect(record.params.licence).toMatchObject({
      known: true,
      declared: { use: "commercial" },
      verdict: { allowed: false },
    });
    expect(record.stages.map((s: { name: string }) => s.name)).not.toContain("generate");
  });

  it("refuses the Community License above USD 1M revenue and allows it under", async () => {
    await setTenantSettings(gw.database.db, {
      tenant: "acme",
      annualRevenueUsd: 5_000_000,
      author: "t",
    });
    const over = await generate({ model: "stable-diffusion-3.5-large" });
    expect(over.status).toBe(403);
    expect((await over.json()).error.message).toMatch(/declared: USD 5,000,000/);
    await setTenantSettings(gw.database.db, {
      tenant: "acme",
      annualRevenueUsd: 200_000,
      author: "t",
    });
    expect((await generate({ model: "stable-diffusion-3.5-large" })).status).toBe(200);
  });

  it("a tenant that declared nothing is checked as commercial", async () => {
    const res = await generate({ model: "flux1-dev" }, gw.otherKey);
    expect(res.status).toBe(403);
    expect((await res.json()).error.licence.checked_as).toBe("commercial");
  });

  it("allows a non-commercial tenant; the verdict is in the response, the row and the manifest", async () => {
    await setTenantSettings(gw.database.db, {
      tenant: "acme",
      use: "non-commercial",
      outputTerms: "royalty-free standard licence",
      author: "t",
    });
    const res = await generate({ model: "flux1-dev" });
    expect(res.status).toBe(200);
    const body = await res.json();
    // The placeholder drew it (it says so), so its own licence is the one audited after generating.
    expect(body.hallmark.licence).toMatchObject({
      known: true,
      id: "hallmark-placeholder",
      checked_as: "non-commercial",
      allowed: true,
      output_terms: "royalty-free standard licence",
    });
    const record = await (
      await gw.request(`/v1/generations/${body.hallmark.generation_id}`)
    ).json();
    expect(record.params.licence.verdict.allowed).toBe(true);
    const verify = await gw.request("/v1/provenance/verify", {
      key: null,
      method: "POST",
      headers: { "content-type": "image/png" },
      body: Buffer.from(body.data[0].b64_json, "base64"),
    });
    const terms = (await verify.json()).c2pa.licence.usageTerms;
    expect(terms).toMatch(
      /^royalty-free standard licence\. Licence check \(non-commercial use\): allowed: non-commercial use/,
    );
  });
});
