import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { createApiKey, revokeApiKey } from "../../tenants/index.js";
import { photo, postEdit } from "./images-edits.test-support.js";

describe.each(testDatabases())("POST /v1/images/edits on $name (security)", (testDb) => {
  let gw: TestGateway;
  let image: Buffer;
  beforeAll(async () => {
    gw = await startTestGateway(testDb);
    image = await photo(64, 64);
  });
  afterAll(() => gw.close());

  const fields = () => ({
    image: { bytes: image },
    prompt: "a lighthouse at dusk",
    size: "256x256",
  });

  it("needs a key (401 with WWW-Authenticate), and refuses an unknown one", async () => {
    const res = await postEdit(gw, fields(), { key: null });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await res.json()).error.code).toBe("missing_api_key");
    const wrong = await postEdit(gw, fields(), { key: "hm_notakey" });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe("invalid_api_key");
  });

  it("refuses a revoked key", async () => {
    const { key, info } = await createApiKey(gw.database.db, { tenant: "acme" });
    await revokeApiKey(gw.database.db, info.id);
    const res = await postEdit(gw, fields(), { key });
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe("invalid_api_key");
  });

  it("a key without the generate scope gets 403 insufficient_scope", async () => {
    const { key } = await createApiKey(gw.database.db, { tenant: "acme", scopes: ["moderate"] });
    const res = await postEdit(gw, fields(), { key });
    expect(res.status).toBe(403);
    expect((await res.json()).error.code).toBe("insufficient_scope");
  });

  it("another tenant cannot read the edit's record (404), and no key or input bytes leak", async () => {
    const res = await postEdit(gw, fields());
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(gw.key);
    const id = JSON.parse(text).hallmark.generation_id;
    const own = await gw.request(`/v1/generations/${id}`);
    expect(own.status).toBe(200);
    const record = await own.text();
    expect(record).not.toContain(image.toString("base64").slice(0, 32));
    expect((await gw.request(`/v1/generations/${id}`, { key: gw.otherKey })).status).toBe(404);
  });
});
