import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generations } from "../../db/schema.js";
import { testDatabases } from "../../db/test-databases.js";
import {
  type FakeAutomatic1111,
  startFakeAutomatic1111,
  startFakeOpenAIImages,
} from "../../generate/index.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";

/** The gateway in front of an AUTOMATIC1111 backend (a fake upstream on loopback). */
describe("AUTOMATIC1111 backend through the gateway (pglite)", () => {
  let fake: FakeAutomatic1111;
  let gw: TestGateway;
  beforeAll(async () => {
    fake = await startFakeAutomatic1111();
    gw = await startTestGateway(testDatabases()[0]!, {
      HALLMARK_BACKEND: "automatic1111",
      HALLMARK_A1111_URL: fake.url,
    });
  });
  afterAll(async () => {
    await gw.close();
    await fake.close();
  });

  it("forwards the request and says honestly that a flat image could not carry the watermark", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "a lighthouse", size: "512x512", seed: 5, negative_prompt: "blurry" },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(fake.requests.at(-1)).toMatchObject({
      prompt: "a lighthouse",
      negative_prompt: "blurry",
      seed: 5,
    });
    expect(body.hallmark).toMatchObject({
      placeholder: false,
      backend: "automatic1111",
      model: { id: "fake-sd15" },
    });
    // The fake draws flat test cards: perceptual masking leaves nothing to mark.
    const mark = body.hallmark.images[0].marks.find(
      (m: { kind: string }) => m.kind === "watermark",
    );
    expect(mark).toMatchObject({ applied: false, reason: "no_texture" });
    expect(body.hallmark.images[0].marks).toContainEqual(expect.objectContaining({ kind: "c2pa" }));
    // The fake's model is in no licence registry entry: recorded as not known, never guessed.
    const record = await (
      await gw.request(`/v1/generations/${body.hallmark.generation_id}`)
    ).json();
    expect(record.params.licence).toMatchObject({ known: false, reference: null, verdict: null });
  });

  it("readiness reports a backend that stops answering without taking the replica out", async () => {
    const upstream = await startFakeAutomatic1111();
    const other = await startTestGateway(testDatabases()[0]!, {
      HALLMARK_BACKEND: "automatic1111",
      HALLMARK_A1111_URL: upstream.url,
    });
    try {
      const backends = (body: { checks: Array<{ name: string }> }) =>
        body.checks.find((c) => c.name === "backends");
      const up = await other.request("/readyz", { key: null });
      const upBody = await up.json();
      expect(up.status).toBe(200);
      expect(upBody.degraded).toBeUndefined();
      expect(backends(upBody)).toEqual({ name: "backends", ok: true, critical: false });
      await upstream.close();
      const down = await other.request("/readyz", { key: null });
      const downBody = await down.json();
      // Still ready (verify, moderation and review serve; generation answers 503 per request),
      // but degraded, naming the check.
      expect(down.status).toBe(200);
      expect(downBody).toMatchObject({ status: "ready", degraded: true });
      expect(backends(downBody)).toEqual({ name: "backends", ok: false, critical: false });
      expect(downBody.checks.find((c: { name: string }) => c.name === "database").ok).toBe(true);
    } finally {
      await other.close();
      await upstream.close().catch(() => {});
    }
  });

  it("an upstream failure is a 502, recorded as failed", async () => {
    const failing = await startFakeAutomatic1111({ failWith: 500 });
    const other = await startTestGateway(testDatabases()[0]!, {
      HALLMARK_BACKEND: "automatic1111",
      HALLMARK_A1111_URL: failing.url,
    });
    try {
      const res = await other.request("/v1/images/generations", {
        json: { prompt: "a lighthouse" },
      });
      expect(res.status).toBe(502);
      expect((await res.json()).error.code).toBe("backend_error");
      const rows = await other.database.db.select().from(generations);
      expect(rows.map((r) => [r.status, r.errorCode])).toEqual([["failed", "backend_error"]]);
    } finally {
      await other.close();
      await failing.close();
    }
  });

  it("an upstream that fails once with 503 is retried, and an OpenAI-compatible backend works", async () => {
    const upstream = await startFakeOpenAIImages({ failWith: 503, failFirst: 1 });
    const other = await startTestGateway(testDatabases()[0]!, {
      HALLMARK_BACKEND: "openai",
      HALLMARK_OPENAI_URL: upstream.url,
      HALLMARK_OPENAI_API_KEY: "sk-upstream",
    });
    try {
      const res = await other.request("/v1/images/generations", {
        json: { prompt: "a red barn", size: "256x256" },
      });
      expect(res.status).toBe(200);
      expect(upstream.requests).toHaveLength(2);
      expect(upstream.requests[1]!.authorization).toBe("Bearer sk-upstream");
      // The caller's key never travels upstream.
      expect(JSON.stringify(upstream.requests)).not.toContain(other.key);
    } finally {
      await other.close();
      await upstream.close();
    }
  });
});
