import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { serve } from "@hono/node-server";
import { eq } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generations } from "../../db/schema.js";
import { testDatabases } from "../../db/test-databases.js";
import { createPlaceholderGenerator } from "../../generate/index.js";
import { pdqHashEncoded } from "../../provenance/fingerprint/index.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { limitedTenant } from "../middleware/rate-limit.test-support.js";
import { parseEvents } from "./stream.test-support.js";

/** An output the operator's hash list names: generated fine, refused at the output screen. */
const LISTED = { prompt: "a green hill under a blue sky", seed: 4321, size: "256x256" };
const STARTUP_MS = 300_000;

describe.each(testDatabases())("POST /v1/images/generations stream: true on $name", (testDb) => {
  let gw: TestGateway;
  beforeAll(async () => {
    // The placeholder draws the same picture for the same prompt and seed: list its PDQ.
    const made = await createPlaceholderGenerator().generate(
      { prompt: LISTED.prompt, seed: LISTED.seed, width: 256, height: 256, n: 1 },
      new AbortController().signal,
    );
    const { hash } = await pdqHashEncoded(made.images[0]!.bytes);
    const list = path.join(tmpdir(), `hm-stream-list-${process.pid}-${testDb.name}.csv`);
    writeFileSync(list, `hash,label\n${hash},stream-test\n`);
    gw = await startTestGateway(testDb, { HALLMARK_HASH_LISTS: list });
  }, STARTUP_MS);
  afterAll(() => gw.close(), STARTUP_MS);

  it("streams stage progress, then one completed event with the non-streaming body", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "a lighthouse at dusk", size: "256x256", seed: 7, stream: true },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = parseEvents(await res.text());
    const last = events.at(-1)!;
    expect(last.event).toBe("image_generation.completed");
    expect(last.data.type).toBe("image_generation.completed");
    // No image bytes before the end: every earlier event is progress.
    for (const e of events.slice(0, -1)) {
      expect(e.event).toBe("hallmark.progress");
      expect(e.data.data).toBeUndefined();
    }
    const progress = events.slice(0, -1).map((e) => `${e.data.stage}:${e.data.status}`);
    for (const step of [
      "screen_prompt:started",
      "screen_prompt:applied",
      "generate:started",
      "generate:applied",
      "screen_output:applied",
      "watermark:applied",
      "c2pa:applied",
      "record:applied",
    ]) {
      expect(progress).toContain(step);
    }
    expect(progress.indexOf("generate:started")).toBeLessThan(progress.indexOf("record:applied"));

    // The completed body is the non-streaming one: same keys, committed audit rows.
    const body = last.data;
    expect(Object.keys(body).sort()).toEqual(["created", "data", "hallmark", "type"]);
    const meta = await sharp(Buffer.from(body.data[0].b64_json, "base64")).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 256, 256]);
    expect(body.hallmark.images[0].marks).toContainEqual(expect.objectContaining({ kind: "c2pa" }));
    const [row] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, body.hallmark.generation_id));
    expect(row).toMatchObject({ status: "completed", prompt: "a lighthouse at dusk" });

    const plain = await gw.request("/v1/images/generations", {
      json: { prompt: "a lighthouse at dusk", size: "256x256", seed: 7 },
    });
    const plainBody = await plain.json();
    expect(Object.keys(plainBody.hallmark).sort()).toEqual(Object.keys(body.hallmark).sort());
    // Same picture (each copy carries its own mark id, so the bytes differ).
    expect(plainBody.hallmark.images[0].seed).toBe(body.hallmark.images[0].seed);
  });

  it("a refusal at the output screen after the stream opened is an error event, recorded", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: { ...LISTED, stream: true },
    });
    expect(res.status).toBe(200);
    const events = parseEvents(await res.text());
    const last = events.at(-1)!;
    expect(last.event).toBe("error");
    expect(last.data).toMatchObject({
      type: "error",
      status: 400,
      error: { code: "content_policy_violation", type: "invalid_request_error" },
    });
    expect(last.data.error.rules[0]).toMatch(/^hash_list:/);
    expect(events.some((e) => e.event === "image_generation.completed")).toBe(false);
    expect(JSON.stringify(events)).not.toMatch(/b64_json/);
    expect(events.map((e) => `${e.data.stage}:${e.data.status}`)).toContain("generate:applied");
    const [row] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, last.data.error.generation_id));
    expect(row).toMatchObject({ status: "refused", action: "block" });
  });

  it("an error event gives the tenant's image quota back; a completed stream uses it", async () => {
    const t = await limitedTenant(gw, { imagesPerDay: 1, imagesPerMonth: 10 });
    const used = async () =>
      (await (await gw.request("/v1/usage", { key: t.key })).json()).limits.images_per_day.used;
    // Refused at the output screen after the 200 and the stream opened.
    for (let i = 0; i < 2; i++) {
      const refused = await gw.request("/v1/images/generations", {
        key: t.key,
        json: { ...LISTED, stream: true },
      });
      expect(refused.status).toBe(200);
      expect(parseEvents(await refused.text()).at(-1)!.event).toBe("error");
      expect(await used()).toBe(0);
    }
    const made = await gw.request("/v1/images/generations", {
      key: t.key,
      json: { prompt: "a lighthouse at dusk", size: "256x256", stream: true },
    });
    expect(parseEvents(await made.text()).at(-1)!.event).toBe("image_generation.completed");
    expect(await used()).toBe(1);
    const over = await gw.request("/v1/images/generations", {
      key: t.key,
      json: { prompt: "a lighthouse at dusk", size: "256x256", stream: true },
    });
    expect(over.status).toBe(429);
  });

  it("a request held for review ends with a held event and no image", async () => {
    // The default policy holds this for review (src/jobs/hold.test.ts).
    const res = await gw.request("/v1/images/generations", {
      json: {
        prompt: "a stock photo of a city skyline without watermark",
        size: "256x256",
        stream: true,
      },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain("b64_json");
    const last = parseEvents(text).at(-1)!;
    expect(last).toMatchObject({
      event: "hallmark.held",
      data: { type: "hallmark.held", object: "generation", status: "held" },
    });
    expect(last.data.location).toBe(`/v1/generations/${last.data.id}`);
    const [row] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, last.data.id));
    expect(row).toMatchObject({ status: "refused", errorCode: "held_for_review" });
  });

  it("bad input and a refused prompt answer 4xx JSON before any stream opens", async () => {
    const badSize = await gw.request("/v1/images/generations", {
      json: { prompt: "a cat", size: "3x3", stream: true },
    });
    expect(badSize.status).toBe(400);
    expect((await badSize.json()).error.code).toBe("invalid_size");

    const badFlag = await gw.request("/v1/images/generations", {
      json: { prompt: "a cat", stream: "yes" },
    });
    expect(badFlag.status).toBe(400);

    const refused = await gw.request("/v1/images/generations", {
      json: { prompt: "explicit porn of a nude woman", stream: true },
    });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await refused.json();
    expect(body.error.code).toBe("content_policy_violation");
    expect(body.error.generation_id).toMatch(/^[0-9a-f-]{36}$/);

    const queued = await gw.request("/v1/images/generations", {
      json: { prompt: "a cat", stream: true, hallmark_async: true },
    });
    expect(queued.status).toBe(400);
    expect((await queued.json()).error.param).toBe("stream");
  });

  it("is in the OpenAPI document", async () => {
    const doc = await (await gw.request("/openapi.json", { key: null })).json();
    const op = doc.paths["/v1/images/generations"].post;
    expect(Object.keys(op.responses["200"].content)).toContain("text/event-stream");
    expect(doc.components.schemas.ImageGenerationRequest.properties.stream.type).toBe("boolean");
    expect(doc.components.schemas.ImageGenerationStreamEvent).toBeDefined();
  });
});

/** The embedded model reports its denoising steps; a client that leaves stops the generation. */
describe("streaming from the embedded model (pglite)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDatabases()[0]!, {
      HALLMARK_BACKEND: "embedded",
      HALLMARK_EMBEDDED_STEPS: "200",
    });
  }, STARTUP_MS);
  afterAll(() => gw.close(), STARTUP_MS);

  it("sends denoising step i/n", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "a red circle on a white background", size: "256x256", stream: true },
    });
    const events = parseEvents(await res.text());
    const steps = events
      .filter((e) => e.data.status === "running")
      .map((e) => [e.data.step, e.data.steps]);
    expect(steps).toHaveLength(200);
    expect(steps[0]).toEqual([1, 200]);
    expect(steps.at(-1)).toEqual([200, 200]);
    expect(events.at(-1)!.data.hallmark.backend).toBe("embedded");
  });

  it("a client disconnect over real HTTP cancels the generation, recorded as request_cancelled", async () => {
    const server = serve({ fetch: gw.runtime.app.fetch, hostname: "127.0.0.1", port: 0 });
    await new Promise((resolve) => server.once("listening", resolve));
    const { port } = server.address() as AddressInfo;
    const prompt = `a blue square, disconnect ${Date.now()}`;
    const client = new AbortController();
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/images/generations`, {
        method: "POST",
        headers: { authorization: `Bearer ${gw.key}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt, size: "256x256", stream: true }),
        signal: client.signal,
      });
      expect(res.status).toBe(200);
      // Read until the first denoising step, then hang up.
      const reader = res.body!.getReader();
      let text = "";
      while (!text.includes('"status":"running"')) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before a step: ${text}`);
        text += new TextDecoder().decode(value);
      }
      client.abort();
      await reader.cancel().catch(() => {});

      let row: typeof generations.$inferSelect | undefined;
      for (let i = 0; i < 600 && !row; i++) {
        await new Promise((r) => setTimeout(r, 100));
        [row] = await gw.database.db
          .select()
          .from(generations)
          .where(eq(generations.prompt, prompt));
      }
      expect(row).toMatchObject({ status: "failed", errorCode: "request_cancelled" });
      // Cancelled between steps: well before the 200th.
      const stages = row!.stages as Array<{ name: string; status: string }>;
      expect(stages).toContainEqual(
        expect.objectContaining({ name: "generate", status: "failed" }),
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
