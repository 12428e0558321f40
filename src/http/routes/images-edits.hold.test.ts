import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generations, images } from "../../db/schema.js";
import { generationOutputs } from "../../db/schema-jobs.js";
import { testDatabases } from "../../db/test-databases.js";
import { recordReview } from "../../review/decide.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { createApiKey } from "../../tenants/index.js";
import { loadWebhookSecret, verifyWebhook } from "../../webhooks/index.js";
import { startReceiver, type WebhookReceiver } from "../../webhooks/receiver.test-support.js";
import { postEdit } from "./images-edits.test-support.js";

/** A photo with a face: the default policy's `faces.input_with_face` says review. */
const ASTRONAUT = readFileSync(
  path.join(import.meta.dirname, "../../classify/image/fixtures/astronaut.jpg"),
);
const editOfAFace = (gw: TestGateway, fields: Record<string, string> = {}) =>
  postEdit(gw, {
    image: { bytes: ASTRONAUT, type: "image/jpeg", filename: "astronaut.jpg" },
    prompt: "a lighthouse at dusk",
    size: "256x256",
    ...fields,
  });

describe.each(testDatabases())("an edit held for review on $name", (testDb) => {
  let gw: TestGateway;
  let reviewerKeyId: string;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    gw = await startTestGateway(testDb, { HALLMARK_WEBHOOK_ALLOW_PRIVATE: "true" });
    reviewerKeyId = (await createApiKey(gw.database.db, { tenant: "acme", scopes: ["review"] }))
      .info.id;
    receiver = await startReceiver(200);
  }, 180_000);
  afterAll(async () => {
    await gw.close();
    await receiver.close();
  });

  it("is made, recorded and kept sealed, answered 202 without images, released on approval", async () => {
    const res = await editOfAFace(gw);
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(202);
    expect(body).toMatchObject({ object: "generation", status: "held" });
    expect(res.headers.get("location")).toBe(`/v1/generations/${body.id}`);
    expect(JSON.stringify(body)).not.toContain("b64_json");

    const [row] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, body.id));
    expect(row).toMatchObject({
      kind: "edit",
      status: "refused",
      action: "review",
      errorCode: "held_for_review",
    });
    expect((row!.decision as { input: Array<{ faces: number }> }).input[0]!.faces).toBeGreaterThan(
      0,
    );
    const stages = (row!.stages as Array<{ name: string }>).map((s) => s.name);
    expect(stages).toEqual(expect.arrayContaining(["screen_input", "generate", "screen_output"]));
    const imageRows = await gw.database.db
      .select()
      .from(images)
      .where(eq(images.generationId, body.id));
    expect(imageRows).toHaveLength(1);
    const kept = await gw.database.db
      .select()
      .from(generationOutputs)
      .where(eq(generationOutputs.generationId, body.id));
    expect(kept).toHaveLength(1);
    expect((await (await gw.request(`/v1/generations/${body.id}`)).json()).status).toBe("held");
    expect((await gw.request(`/v1/generations/${body.id}`, { key: gw.otherKey })).status).toBe(404);

    await recordReview(gw.database.db, {
      generationId: body.id,
      reviewerKeyId,
      decision: "approve",
      note: "the customer's own portrait, consent on file",
    });
    const view = await (await gw.request(`/v1/generations/${body.id}`)).json();
    expect(view.status).toBe("completed");
    const bytes = Buffer.from(view.data[0].b64_json, "base64");
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(imageRows[0]!.sha256);
  }, 120_000);

  it("ends a stream with the held event, not the images", async () => {
    const res = await editOfAFace(gw, { stream: "true" });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("event: hallmark.held");
    expect(text).not.toContain("b64_json");
    const held = JSON.parse(text.split("event: hallmark.held\ndata: ")[1]!.split("\n")[0]!);
    const [row] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, held.id));
    expect(row).toMatchObject({ kind: "edit", errorCode: "held_for_review" });
  }, 120_000);

  it("tells the edit's webhook the reviewer's decision, signed", async () => {
    const res = await editOfAFace(gw, { hallmark_webhook_url: receiver.url });
    const { id } = await res.json();
    expect(res.status).toBe(202);
    await recordReview(gw.database.db, {
      generationId: id,
      reviewerKeyId,
      decision: "uphold",
      note: "no consent on file",
    });
    await gw.runtime.delivery.maintain();
    const delivery = await receiver.waitFor(id);
    const secret = await loadWebhookSecret({ dataDir: gw.config.dataDir });
    expect(verifyWebhook(secret, delivery.headers, delivery.body)).toBe(true);
    expect(JSON.parse(delivery.body)).toMatchObject({
      type: "generation.refused",
      data: { id, status: "refused" },
    });
  }, 120_000);

  it("refuses a webhook URL it may not call, before making anything", async () => {
    const before = (await gw.database.db.select().from(generations)).length;
    const res = await editOfAFace(gw, { hallmark_webhook_url: "ftp://example.com/hook" });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error).toMatchObject({
      code: "invalid_webhook_url",
      param: "hallmark_webhook_url",
    });
    expect((await gw.database.db.select().from(generations)).length).toBe(before);
  });
});

describe.each(testDatabases())("an edit under review with holds off on $name", (testDb) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDb, { HALLMARK_HOLD_FOR_REVIEW: "false" });
  }, 180_000);
  afterAll(() => gw.close());

  it("is refused before generation with 400, and the refusal recorded", async () => {
    const res = await editOfAFace(gw);
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error).toMatchObject({ code: "content_policy_violation", param: "image" });
    expect(body.error.action).toBe("review");
    expect(body.error.categories).toContain("public-figure");
    const [row] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, body.error.generation_id));
    expect(row).toMatchObject({ kind: "edit", status: "refused", action: "review" });
    const stages = (row!.stages as Array<{ name: string }>).map((s) => s.name);
    expect(stages).not.toContain("generate");
    expect((row!.decision as { input: Array<{ faces: number }> }).input[0]!.faces).toBeGreaterThan(
      0,
    );
  });
});
