import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import { setTenantPolicy } from "../../policy/index.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";

interface Result {
  flagged: boolean;
  categories: Record<string, boolean>;
  category_scores: Record<string, number>;
  hallmark: {
    action: string;
    policy: { id: string; hash: string };
    rules: Array<{ rule: string; category: string; effect: string }>;
    spans: Array<{ category: string; source: string; text: string }>;
  };
}

/**
 * /v1/moderations decides under the calling tenant's effective policy (the base and the tenant's
 * stored override), with the policy's word and regex rules: what a generation with the same
 * prompt would get. Tenant "acme" has the default policy; "other" has an override.
 */
describe.each(testDatabases())("POST /v1/moderations under the tenant's policy ($name)", (db) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(db, { HALLMARK_POLICY_CACHE_MS: "0" });
    await setTenantPolicy(gw.database.db, gw.runtime.policies.base, {
      tenant: "other",
      author: "test",
      text: [
        "categories:",
        "  sexual: { review: 0.4 }",
        "rules:",
        "  - { id: competitor-brands, category: intellectual-property, words: [globex], score: 0.9 }",
        "  - { id: deepfake-intent, category: public-figure, words: [deepfake], enabled: false }",
        "",
      ].join("\n"),
    });
  }, 300_000);
  afterAll(() => gw?.close());

  async function moderate(key: string, input: unknown): Promise<Result[]> {
    const res = await gw.request("/v1/moderations", { key, json: { input } });
    expect(res.status).toBe(200);
    return (await res.json()).results;
  }

  it("the default policy's word rules apply (deepfake-intent) and name themselves", async () => {
    const [r] = await moderate(gw.key, "a d.e.e.p.f.a.k.e of a CEO");
    expect(r!.flagged).toBe(true);
    expect(r!.categories["public-figure"]).toBe(true);
    expect(r!.category_scores["public-figure"]).toBeGreaterThanOrEqual(0.5);
    expect(r!.hallmark.rules.map((x) => x.rule)).toContain("rules.deepfake-intent");
    expect(r!.hallmark.spans).toContainEqual(
      expect.objectContaining({ category: "public-figure", source: "rule" }),
    );
    expect(r!.hallmark.policy.id).toBe("default");
  });

  it("a tenant override changes the outcome: a tenant rule, a disabled rule, a threshold", async () => {
    const inputs = [
      "a cosy cabin with a globex logo",
      "a d.e.e.p.f.a.k.e of a CEO",
      "a sexy woman in a bikini",
    ];
    const acme = await moderate(gw.key, inputs);
    const other = await moderate(gw.otherKey, inputs);
    expect(acme.map((r) => r.flagged)).toEqual([false, true, false]);
    expect(other.map((r) => r.flagged)).toEqual([true, false, true]);

    expect(other[0]!.categories["intellectual-property"]).toBe(true);
    expect(other[0]!.category_scores["intellectual-property"]).toBe(0.9);
    expect(other[0]!.hallmark.action).toBe("block");
    expect(other[0]!.hallmark.rules.map((r) => r.rule)).toEqual(["rules.competitor-brands"]);
    expect(other[1]!.hallmark.rules).toEqual([]);
    expect(other[2]!.categories.sexual).toBe(true);
    for (const r of other) {
      expect(r.hallmark.policy.id).toBe("default+other.v1");
      expect(r.hallmark.policy.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(acme[0]!.hallmark.policy.hash).not.toBe(other[0]!.hallmark.policy.hash);
  });

  it("the multi-modal form decides its text under the tenant's policy too", async () => {
    const parts = [{ type: "text", text: "a cosy cabin with a globex logo" }];
    const [acme] = await moderate(gw.key, parts);
    const [other] = await moderate(gw.otherKey, parts);
    expect(acme!.flagged).toBe(false);
    expect(other!.flagged).toBe(true);
    expect(other!.hallmark.rules.map((r) => r.rule)).toEqual(["rules.competitor-brands"]);
  });

  it("a new version takes effect on the next request (cache 0)", async () => {
    await setTenantPolicy(gw.database.db, gw.runtime.policies.base, {
      tenant: "other",
      author: "test",
      text: "{}\n",
    });
    const [r] = await moderate(gw.otherKey, "a cosy cabin with a globex logo");
    expect(r!.flagged).toBe(false);
    expect(r!.hallmark.policy.id).toBe("default+other.v2");
  });
});
