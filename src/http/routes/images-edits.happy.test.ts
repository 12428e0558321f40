import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generations, images } from "../../db/schema.js";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { maskPng, photo, postEdit } from "./images-edits.test-support.js";
import { parseEvents } from "./stream.test-support.js";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe.each(testDatabases())("POST /v1/images/edits on $name (happy)", (testDb) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDb);
  });
  afterAll(() => gw.close());

  it("stream=true: input screening and denoising progress as Server-Sent Events, then the edit's body once recorded", async () => {
    const res = await postEdit(gw, {
      image: { bytes: await photo(320, 240, "png", 5), filename: "in.png", type: "image/png" },
      prompt: "make it a watercolour",
      size: "256x256",
      seed: "12",
      stream: "true",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = parseEvents(await res.text());
    const last = events.at(-1)!;
    expect(last.event).toBe("image_generation.completed");
    for (const e of events.slice(0, -1)) expect(e.event).toBe("hallmark.progress");
    const progress = events.slice(0, -1).map((e) => `${e.data.stage}:${e.data.status}`);
    expect(progress).toEqual(
      expect.arrayContaining(["screen_input:applied", "generate:started", "record:applied"]),
    );
    const out = Buffer.from(last.data.data[0].b64_json, "base64");
    expect((await sharp(out).metadata()).width).toBe(256);
    const [row] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, last.data.hallmark.generation_id));
    expect(row).toMatchObject({ kind: "edit", status: "completed" });
    const stored = await gw.database.db
      .select({ sha256: images.sha256 })
      .from(images)
      .where(eq(images.generationId, row!.id));
    expect(stored.map((i) => i.sha256)).toEqual([sha256(out)]);
  });

  it("edits, screens the input, marks, signs with the input as parent ingredient, and audits", async () => {
    const input = await photo(320, 240, "jpeg");
    const res = await postEdit(gw, {
      image: { bytes: input, filename: "holiday.jpg", type: "image/jpeg" },
      prompt: "make it a watercolour",
      size: "256x256",
      seed: "11",
      strength: "0.6",
      user: "end-user-7",
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await res.json();
    expect(body.data).toHaveLength(1);
    const out = Buffer.from(body.data[0].b64_json, "base64");
    const meta = await sharp(out).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 256, 256]);
    expect(body.hallmark.placeholder).toBe(true);
    const stages = Object.fromEntries(
      body.hallmark.stages.map((s: { name: string; status: string }) => [s.name, s.status]),
    );
    expect(stages).toMatchObject({
      screen_prompt: "applied",
      screen_input: "applied",
      generate: "applied",
      screen_output: "applied",
      watermark: "applied",
      c2pa: "applied",
      record: "applied",
    });
    const inputStage = body.hallmark.stages.find(
      (s: { name: string }) => s.name === "screen_input",
    );
    expect(inputStage.note).toMatch(/nsfw/);

    // The audit row: kind edit, the input's SHA-256 and PDQ, never its bytes.
    const id = body.hallmark.generation_id;
    const [row] = await gw.database.db.select().from(generations).where(eq(generations.id, id));
    expect(row).toMatchObject({ kind: "edit", status: "completed", endUser: "end-user-7" });
    expect(row!.params).toMatchObject({
      strength: 0.6,
      inputs: [{ sha256: sha256(input), media_type: "image/jpeg" }],
    });
    const decision = row!.decision as { input: Array<{ sha256: string; pdq: { hash: string } }> };
    expect(decision.input[0]!.sha256).toBe(sha256(input));
    expect(decision.input[0]!.pdq.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(input.toString("base64").slice(0, 40));
    const imageRows = await gw.database.db.select().from(images).where(eq(images.generationId, id));
    expect(imageRows).toHaveLength(1);
    expect(imageRows[0]!.sha256).toBe(sha256(out));

    // The manifest: c2pa.opened + c2pa.edited, the input as parentOf ingredient, its hash.
    const verified = await gw.request("/v1/provenance/verify", {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: new Uint8Array(out),
    });
    const v = await verified.json();
    expect(v.produced_here).toBe(true);
    expect(v.c2pa.validation_state).toBe("Trusted");
    expect(v.c2pa.actions.map((a: { action: string }) => a.action)).toEqual([
      "c2pa.opened",
      "c2pa.edited",
    ]);
    expect(v.c2pa.ingredients[0]).toMatchObject({
      relationship: "parentOf",
      format: "image/jpeg",
    });
    expect(v.c2pa.generation.inputs).toEqual([{ sha256: sha256(input) }]);
  });

  it("inpaints inside the mask only (the placeholder keeps the pixels outside it)", async () => {
    const input = await photo(256, 256, "png", 3);
    const mask = await maskPng(256, 256, { x: 0, y: 0, width: 128, height: 256 });
    const res = await postEdit(gw, {
      image: { bytes: input },
      mask: { bytes: mask, filename: "mask.png" },
      prompt: "a lighthouse at dusk",
      size: "256x256",
      strength: "1",
      output_format: "png",
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await res.json();
    const out = await sharp(Buffer.from(body.data[0].b64_json, "base64"))
      .removeAlpha()
      .raw()
      .toBuffer();
    const original = await sharp(input).raw().toBuffer();
    // Mean absolute difference per half: the right (kept) half is the input plus the watermark.
    const diff = (x0: number, x1: number) => {
      let sum = 0;
      let count = 0;
      for (let y = 0; y < 256; y++) {
        for (let x = x0; x < x1; x++) {
          for (let c = 0; c < 3; c++) {
            const o = (y * 256 + x) * 3 + c;
            sum += Math.abs(out[o]! - original[o]!);
            count++;
          }
        }
      }
      return sum / count;
    };
    expect(diff(128, 256)).toBeLessThan(4);
    expect(diff(0, 128)).toBeGreaterThan(20);
    const [row] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, body.hallmark.generation_id));
    expect((row!.params as { mask: { sha256: string } }).mask.sha256).toBe(sha256(mask));
  });

  it("accepts webp input, n > 1, and jpeg output", async () => {
    const res = await postEdit(gw, {
      image: { bytes: await photo(300, 300, "webp"), filename: "x.webp", type: "image/webp" },
      prompt: "snowy",
      n: "2",
      size: "256x256",
      output_format: "jpeg",
      output_compression: "80",
      response_format: "b64_json",
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await res.json();
    expect(body.data).toHaveLength(2);
    expect(body.hallmark.images.map((i: { media_type: string }) => i.media_type)).toEqual([
      "image/jpeg",
      "image/jpeg",
    ]);
  });
});
