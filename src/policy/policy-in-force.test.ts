import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../db/test-databases.js";
import { photo, postEdit } from "../http/routes/images-edits.test-support.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { createApiKey, createTenant } from "../tenants/index.js";
import { setTenantPolicy } from "./index.js";

const PNG = { size: "256x256", output_format: "png" };

/**
 * Each policy key a tenant override can change, seen through the gateway (the rules' own tests
 * are policies/tests/*.yaml, run by `hallmark policy test`): what the request gets, what the
 * audit row keeps and what the signed manifest says. One tenant per key, the default beside it.
 */
describe.each(testDatabases())("a tenant's policy in force, key by key ($name)", (db) => {
  let gw: TestGateway;
  const keys: Record<string, string> = {};
  const tenantWith = async (name: string, override: string) => {
    await createTenant(gw.database.db, name);
    keys[name] = (await createApiKey(gw.database.db, { tenant: name })).key;
    await setTenantPolicy(gw.database.db, gw.runtime.policies.base, {
      tenant: name,
      author: "test",
      text: override,
    });
  };
  beforeAll(async () => {
    gw = await startTestGateway(db, { HALLMARK_POLICY_CACHE_MS: "0" });
    await tenantWith("hashonly", "prompts: { retention: sha256 }\n");
    await tenantWith("open-book", "manifest: { include_prompt_text: true }\n");
    await tenantWith("sdxl-only", 'models: { allow: ["sd_xl_*"] }\n');
    await tenantWith("no-swift", "public_figures: { block: [taylor-swift] }\n");
    await tenantWith("no-edits-of-people", "edits: { real_people: block }\n");
  }, 300_000);
  afterAll(() => gw?.close());

  const generate = (key: string, prompt: string, extra: Record<string, unknown> = {}) =>
    gw.request("/v1/images/generations", { key, json: { prompt, ...PNG, ...extra } });
  const verify = async (b64: string) =>
    (
      await gw.request("/v1/provenance/verify", {
        key: null,
        method: "POST",
        headers: { "content-type": "image/png" },
        body: Buffer.from(b64, "base64"),
      })
    ).json();

  it("prompts.retention sha256: the audit row keeps the prompt's hash, never its text", async () => {
    const prompt = "a lighthouse at dusk, for the hash-only tenant";
    const res = await generate(keys.hashonly!, prompt);
    expect(res.status).toBe(200);
    const id = (await res.json()).hallmark.generation_id;
    const row = await (await gw.request(`/v1/generations/${id}`, { key: keys.hashonly })).json();
    expect(row).toMatchObject({
      prompt: null,
      prompt_retention: "sha256",
      prompt_sha256: createHash("sha256").update(prompt).digest("hex"),
    });
    // Nor does the decision repeat it (the classifier's normalised text, matched spans' text).
    expect(JSON.stringify(row)).not.toContain("hash-only tenant");
    const matched = await generate(keys.hashonly!, "a d.e.e.p.f.a.k.e of the mayor");
    const body = await matched.json();
    const held = body.error?.generation_id ?? body.id ?? body.hallmark?.generation_id;
    const heldRow = await (
      await gw.request(`/v1/generations/${held}`, { key: keys.hashonly })
    ).json();
    expect(heldRow.decision.rules).toContainEqual(
      expect.objectContaining({ rule: "rules.deepfake-intent" }),
    );
    expect(heldRow.decision.categories["public-figure"].spans[0]).toMatchObject({
      text: "",
      source: "rule",
    });
    expect(JSON.stringify(heldRow)).not.toMatch(/d\.e\.e\.p|mayor/);
    // The default keeps plaintext.
    const plain = await (await generate(gw.key, prompt)).json();
    const plainRow = await (
      await gw.request(`/v1/generations/${plain.hallmark.generation_id}`)
    ).json();
    expect(plainRow).toMatchObject({ prompt, prompt_retention: "plaintext" });
  });

  it("manifest.include_prompt_text: the signed manifest carries the prompt only when it says so", async () => {
    const prompt = "a lighthouse at dusk, said in the manifest";
    const open = await (await generate(keys["open-book"]!, prompt)).json();
    const shut = await (await generate(gw.key, prompt)).json();
    const a = (await verify(open.data[0].b64_json)).c2pa.generation;
    const b = (await verify(shut.data[0].b64_json)).c2pa.generation;
    expect(a.prompt).toBe(prompt);
    expect(b.prompt).toBeUndefined();
    const sha = createHash("sha256").update(prompt).digest("hex");
    expect(a.promptSha256).toBe(sha);
    expect(b.promptSha256).toBe(sha);
    expect(a.policy.id).toBe("default+open-book.v1");
  });

  it("models.allow: another model is refused before any work (403 model_not_allowed)", async () => {
    const res = await generate(keys["sdxl-only"]!, "a lighthouse at dusk", {
      model: "hallmark-placeholder",
    });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toMatchObject({ code: "model_not_allowed", param: "model" });
    expect((await generate(gw.key, "a lighthouse at dusk")).status).toBe(200);
  });

  it("models.allow: GET /v1/models lists only what the tenant may ask for", async () => {
    const ids = async (key: string) =>
      ((await (await gw.request("/v1/models", { key })).json()).data as Array<{ id: string }>).map(
        (m) => m.id,
      );
    expect(await ids(gw.key)).toEqual(["hallmark-placeholder"]);
    expect(await ids(keys["sdxl-only"]!)).toEqual([]);
    const one = await gw.request("/v1/models/hallmark-placeholder", { key: keys["sdxl-only"] });
    expect(one.status).toBe(404);
    expect((await one.json()).error).toMatchObject({ code: "model_not_found" });
  });

  it("public_figures.block: a listed person is refused to that tenant only", async () => {
    const prompt = "Taylor Swift reading a book in a library";
    const res = await generate(keys["no-swift"]!, prompt);
    expect(res.status).toBe(400);
    const err = (await res.json()).error;
    expect(err.code).toBe("content_policy_violation");
    const row = await (
      await gw.request(`/v1/generations/${err.generation_id}`, { key: keys["no-swift"] })
    ).json();
    expect(row.decision.rules).toContainEqual(
      expect.objectContaining({ rule: "public_figures.block", category: "public-figure" }),
    );
  });

  it("edits.real_people block: an edit of a photo with a face is refused", async () => {
    const { readFileSync } = await import("node:fs");
    const { PACKAGE_ROOT } = await import("../config/index.js");
    const portrait = readFileSync(`${PACKAGE_ROOT}/policies/tests/images/portrait.jpg`);
    const fields = {
      prompt: "make the background a beach",
      size: "256x256",
      image: { bytes: portrait, filename: "portrait.jpg", type: "image/jpeg" },
    };
    const res = await postEdit(gw, fields, { key: keys["no-edits-of-people"] });
    expect(res.status).toBe(400);
    const err = (await res.json()).error;
    expect(err).toMatchObject({ code: "content_policy_violation", param: "image" });
    expect(err.categories ?? err.fired ?? JSON.stringify(err)).toContain("public-figure");
    // A photo without a face is edited as usual.
    const plain = await postEdit(
      gw,
      { ...fields, image: { bytes: await photo(256, 256) } },
      { key: keys["no-edits-of-people"] },
    );
    expect(plain.status).toBe(200);
  });
});
