import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";

describe("POST /v1/moderations (pglite)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDatabases()[0]!);
  }, 240_000);
  afterAll(() => gw.close());

  it("scores each input in OpenAI's shape, with spans and sources for reviewers", async () => {
    const res = await gw.request("/v1/moderations", {
      json: { input: ["a quiet lake at dawn", "n.u.d.e woman", "ｐｏｒｎ"] },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.id).toMatch(/^modr-/);
    // The text model that scored it, by its digest (as the audit rows name it).
    const textModel = gw.runtime.text.modelId;
    expect(textModel).toMatch(/^text-classifier@[0-9a-f]{12}$/);
    expect(body.model).toBe(`hallmark-text-${textModel!.split("@")[1]}`);
    const [calm, dotted, wide] = body.results;
    expect(calm.flagged).toBe(false);
    expect(Object.keys(calm.categories)).toContain("public-figure");
    expect(dotted.flagged).toBe(true);
    expect(dotted.categories.sexual).toBe(true);
    expect(dotted.hallmark.spans[0]).toMatchObject({ category: "sexual", start: 0 });
    expect(dotted.hallmark.by_source.sexual).toHaveProperty("lexicon");
    expect(wide.flagged).toBe(true);
  });

  it("accepts a single string and names a public figure", async () => {
    const res = await gw.request("/v1/moderations", {
      json: { input: "Donald Trump shaking hands" },
    });
    const body = await res.json();
    expect(body.results).toHaveLength(1);
    expect(body.results[0].category_scores["public-figure"]).toBeGreaterThan(0);
    expect(body.results[0].hallmark.people.length).toBeGreaterThan(0);
  });

  it("rejects unknown fields, wrong types and empty arrays", async () => {
    for (const json of [{ input: "x", extra: 1 }, { input: 5 }, { input: [] }, {}]) {
      const res = await gw.request("/v1/moderations", { json });
      expect(res.status, JSON.stringify(json)).toBe(400);
    }
  });
});
