import { createHash } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generations, images } from "../../db/schema.js";
import { idempotencyKeys } from "../../db/schema-jobs.js";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { maskPng, photo, postForm } from "./images-edits.test-support.js";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe.each(testDatabases())("POST /v1/images/variations on $name", (testDb) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDb);
  });
  afterAll(() => gw.close());

  const post = (fields: Parameters<typeof postForm>[2]) =>
    postForm(gw, "/v1/images/variations", fields);
  const count = async () =>
    Number((await gw.database.db.select({ n: sql<number>`count(*)` }).from(generations))[0]!.n);

  it("varies the image: input screened, no prompt to screen, marked, signed with the input as parent, audited", async () => {
    const input = await photo(320, 240, "jpeg", 4);
    const res = await post({
      image: { bytes: input, filename: "holiday.jpg", type: "image/jpeg" },
      n: "2",
      size: "256x256",
      seed: "21",
      user: "end-user-9",
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await res.json();
    expect(body.data).toHaveLength(2);
    const outs = body.data.map((d: { b64_json: string }) => Buffer.from(d.b64_json, "base64"));
    for (const out of outs) {
      const meta = await sharp(out).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(["png", 256, 256]);
    }
    const stages = Object.fromEntries(
      body.hallmark.stages.map((s: { name: string; status: string; note?: string }) => [
        s.name,
        [s.status, s.note],
      ]),
    );
    expect(stages.screen_prompt).toEqual(["skipped", "a variation has no prompt"]);
    for (const name of ["screen_input", "generate", "screen_output", "watermark", "c2pa"]) {
      expect(stages[name]?.[0], name).toBe("applied");
    }
    expect(body.hallmark.decision.action).toBe("allow");

    const id = body.hallmark.generation_id;
    const [row] = await gw.database.db.select().from(generations).where(eq(generations.id, id));
    expect(row).toMatchObject({ kind: "variation", status: "completed", endUser: "end-user-9" });
    expect(row!.params).toMatchObject({ inputs: [{ sha256: sha256(input) }] });
    const decision = row!.decision as { prompt: unknown; input: Array<{ sha256: string }> };
    expect(decision.prompt).toBeNull();
    expect(decision.input[0]!.sha256).toBe(sha256(input));
    const stored = await gw.database.db
      .select({ sha256: images.sha256 })
      .from(images)
      .where(eq(images.generationId, id));
    expect(stored.map((i) => i.sha256).sort()).toEqual(outs.map(sha256).sort());

    const verified = await gw.request("/v1/provenance/verify", {
      method: "POST",
      headers: { "content-type": "image/png" },
      body: new Uint8Array(outs[0]),
    });
    const v = await verified.json();
    expect(v.produced_here).toBe(true);
    expect(v.c2pa.validation_state).toBe("Trusted");
    expect(v.c2pa.actions.map((a: { action: string }) => a.action)).toEqual([
      "c2pa.opened",
      "c2pa.edited",
    ]);
    expect(v.c2pa.ingredients[0]).toMatchObject({ relationship: "parentOf", format: "image/jpeg" });
  });

  it("records under an Idempotency-Key's generation id and replays it; refuses a keyed stream", async () => {
    const fields = {
      image: { bytes: await photo(128, 128, "png", 8) },
      size: "256x256",
      seed: "3",
    };
    const headers = { "idempotency-key": "vary-once-1" };
    const first = await postForm(gw, "/v1/images/variations", fields, { headers });
    expect(first.status, await first.clone().text()).toBe(200);
    const id = (await first.json()).hallmark.generation_id;
    // The key's reserved id is the one the request was recorded under (a takeover of an
    // abandoned attempt looks it up instead of making the images again).
    const [key] = await gw.database.db
      .select({ generationId: idempotencyKeys.generationId })
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.generationId, id));
    expect(key?.generationId).toBe(id);
    const before = await count();
    const again = await postForm(gw, "/v1/images/variations", fields, { headers });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await again.json()).hallmark.generation_id).toBe(id);
    const streamed = await postForm(
      gw,
      "/v1/images/variations",
      { ...fields, stream: "true" },
      { headers: { "idempotency-key": "vary-stream-1" } },
    );
    expect(streamed.status).toBe(400);
    expect((await streamed.json()).error.param).toBe("stream");
    expect(await count()).toBe(before);
  });

  it("refuses what a variation does not take with a 4xx and writes nothing", async () => {
    const before = await count();
    const png = { bytes: await photo(64, 64) };
    const cases: Array<[Parameters<typeof postForm>[2], number, string, string]> = [
      [{ size: "256x256" }, 400, "invalid_request_error", "image"],
      [{ image: png, prompt: "a cat" }, 400, "unknown_parameter", "prompt"],
      [{ image: png, negative_prompt: "blurry" }, 400, "unknown_parameter", "negative_prompt"],
      [
        { image: png, mask: { bytes: await maskPng(64, 64, { x: 0, y: 0, width: 8, height: 8 }) } },
        400,
        "invalid_request_error",
        "mask",
      ],
      [{ image: [png, png] }, 400, "invalid_request_error", "image"],
      [{ image: png, size: "300x300" }, 400, "invalid_size", "size"],
      [{ image: png, n: "9" }, 400, "invalid_request_error", "n"],
      [{ image: png, response_format: "url" }, 400, "invalid_request_error", "response_format"],
      [{ image: { bytes: Buffer.from("not an image") } }, 415, "unsupported_media_type", "image"],
    ];
    for (const [fields, status, code, param] of cases) {
      const res = await post(fields);
      const body = await res.json();
      expect(res.status, JSON.stringify([fields, body])).toBe(status);
      expect(body.error.code, JSON.stringify(body)).toBe(code);
      expect(body.error.param).toBe(param);
    }
    const json = await gw.request("/v1/images/variations", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ image: "x" }),
    });
    expect(json.status).toBe(415);
    expect(await count()).toBe(before);
  });
});
