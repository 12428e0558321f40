import { count } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generations, images } from "../../db/schema.js";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";

async function rowCounts(gw: TestGateway) {
  const [g] = await gw.database.db.select({ n: count() }).from(generations);
  const [i] = await gw.database.db.select({ n: count() }).from(images);
  return { generations: g!.n, images: i!.n };
}

describe.each(testDatabases())("POST /v1/images/generations on $name (errors)", (testDb) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDb, {
      HALLMARK_MAX_BODY_BYTES: "65536",
      HALLMARK_MAX_PROMPT_CHARS: "1000",
    });
  });
  afterAll(() => gw.close());

  const cases: Array<[string, RequestInit & { json?: unknown }, number, string, string | null]> = [
    [
      "malformed JSON",
      { method: "POST", headers: { "content-type": "application/json" }, body: '{"prompt": "x",' },
      400,
      "invalid_json",
      null,
    ],
    [
      "NUL in the prompt (PostgreSQL text cannot hold it)",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"prompt":"a lighthouse\\u0000 at dusk"}',
      },
      400,
      "invalid_request_error",
      "prompt",
    ],
    [
      "lone surrogate in the prompt",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"prompt":"p\\u200bo\\u202ern \\ud800 star"}',
      },
      400,
      "invalid_request_error",
      "prompt",
    ],
    [
      "lone surrogate in user",
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"prompt":"a cat","user":"\\udc00"}',
      },
      400,
      "invalid_request_error",
      "user",
    ],
    [
      "wrong type for n",
      { json: { prompt: "a cat", n: "two" } },
      400,
      "invalid_request_error",
      "n",
    ],
    ["n out of range", { json: { prompt: "a cat", n: 99 } }, 400, "invalid_request_error", "n"],
    ["n zero", { json: { prompt: "a cat", n: 0 } }, 400, "invalid_request_error", "n"],
    ["missing prompt", { json: { n: 1 } }, 400, "invalid_request_error", "prompt"],
    ["empty prompt", { json: { prompt: "" } }, 400, "invalid_request_error", "prompt"],
    [
      "prompt over the limit",
      { json: { prompt: "a".repeat(1001) } },
      400,
      "prompt_too_long",
      "prompt",
    ],
    ["unknown size", { json: { prompt: "a cat", size: "333x333" } }, 400, "invalid_size", "size"],
    [
      "unknown field",
      { json: { prompt: "a cat", sneaky: true } },
      400,
      "unknown_parameter",
      "sneaky",
    ],
    [
      "url response format",
      { json: { prompt: "a cat", response_format: "url" } },
      400,
      "invalid_request_error",
      "response_format",
    ],
    [
      "bad output format",
      { json: { prompt: "a cat", output_format: "gif" } },
      400,
      "invalid_request_error",
      "output_format",
    ],
    [
      "negative seed",
      { json: { prompt: "a cat", seed: -1 } },
      400,
      "invalid_request_error",
      "seed",
    ],
    ["array body", { json: [{ prompt: "a cat" }] }, 400, "invalid_request_error", null],
    [
      "text/plain body",
      { method: "POST", headers: { "content-type": "text/plain" }, body: "a cat" },
      415,
      "unsupported_media_type",
      null,
    ],
    [
      "no content type",
      { method: "POST", body: '{"prompt":"a cat"}' },
      415,
      "unsupported_media_type",
      null,
    ],
    [
      "body over the limit",
      { json: { prompt: "a cat", user: "x".repeat(70_000) } },
      413,
      "payload_too_large",
      null,
    ],
  ];

  it.each(cases)("%s → %i %s, nothing written", async (_name, init, status, code, param) => {
    const before = await rowCounts(gw);
    const res = await gw.request("/v1/images/generations", init);
    expect(res.status).toBe(status);
    const body = await res.json();
    expect(body.error).toMatchObject({
      code,
      type: expect.any(String),
      message: expect.any(String),
    });
    if (param) expect(body.error.param).toBe(param);
    expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
    expect(await rowCounts(gw)).toEqual(before);
  });

  it("refuses a policy violation with 400 content_policy_violation and records the refusal", async () => {
    const before = await rowCounts(gw);
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "explicit porn of a nude woman" },
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe("content_policy_violation");
    expect(body.error.categories).toContain("sexual");
    expect(body.error.generation_id).toMatch(/^[0-9a-f-]{36}$/);
    const after = await rowCounts(gw);
    expect(after).toEqual({ generations: before.generations + 1, images: before.images });
    const record = await (await gw.request(`/v1/generations/${body.error.generation_id}`)).json();
    expect(record).toMatchObject({ status: "refused", action: "block" });
    // A refusal names the models that decided it, as a delivery does.
    expect(record.decision.screened_by.text).toMatch(/^text-classifier@[0-9a-f]{12}$/);
    expect(record.decision.screened_by.image.nsfw).toMatch(/^nsfw-mobilenet-v2@[0-9a-f]{12}$/);
  });

  it("does not refuse benign prompts that merely look alarming", async () => {
    for (const prompt of [
      "a shooting star over the sea",
      "nude lipstick palette on marble",
      "bloody mary cocktail",
    ]) {
      const res = await gw.request("/v1/images/generations", { json: { prompt, size: "256x256" } });
      expect(res.status, prompt).toBe(200);
    }
  });

  it("the negative prompt is recorded but does not refuse", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: {
        prompt: "a portrait of an astronaut",
        negative_prompt: "nsfw, nude, porn",
        size: "256x256",
      },
    });
    expect(res.status).toBe(200);
  });

  it("unknown routes and generations are 404 in the error shape", async () => {
    const a = await gw.request("/v1/nothing");
    expect(a.status).toBe(404);
    expect((await a.json()).error.code).toBe("not_found");
    const b = await gw.request("/v1/generations/00000000-0000-0000-0000-000000000000");
    expect(b.status).toBe(404);
    const c = await gw.request("/v1/generations/not-a-uuid");
    expect(c.status).toBe(404);
  });

  it("verify refuses empty, non-image and wrong-type bodies with 4xx", async () => {
    const post = (body: BodyInit, type: string) =>
      gw.request("/v1/provenance/verify", {
        key: null,
        method: "POST",
        headers: { "content-type": type },
        body,
      });
    expect((await post(new Uint8Array(0), "image/png")).status).toBe(422);
    expect((await post("definitely not an image", "image/png")).status).toBe(422);
    expect((await post("{}", "application/json")).status).toBe(415);
    const noFile = new FormData();
    noFile.set("other", "x");
    const res = await gw.request("/v1/provenance/verify", {
      key: null,
      method: "POST",
      body: noFile,
    });
    expect(res.status).toBe(400);
  });

  it("moderations bounds the batch and each input", async () => {
    const many = await gw.request("/v1/moderations", { json: { input: Array(65).fill("hi") } });
    expect(many.status).toBe(400);
    const long = await gw.request("/v1/moderations", { json: { input: "a".repeat(1001) } });
    expect(long.status).toBe(400);
    const empty = await gw.request("/v1/moderations", { json: { input: [] } });
    expect(empty.status).toBe(400);
  });
});

describe.each(testDatabases())("database down on $name", (testDb) => {
  it("fails closed: 503, no image, readiness 503", async () => {
    const gw = await startTestGateway(testDb);
    const key = gw.key;
    await gw.database.close();
    const res = await gw.request("/v1/images/generations", {
      key,
      json: { prompt: "a cat", size: "256x256" },
    });
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.error.code).toBe("database_unavailable");
    expect(body.data).toBeUndefined();
    expect(res.headers.get("retry-after")).toBeTruthy();
    expect((await gw.request("/readyz", { key: null })).status).toBe(503);
    await gw.runtime.close();
  });
});
