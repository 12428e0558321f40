import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generations, images } from "../db/schema.js";
import { generationOutputs } from "../db/schema-jobs.js";
import { testDatabases } from "../db/test-databases.js";
import { recordReview } from "../review/decide.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { createApiKey } from "../tenants/index.js";
import { loadWebhookSecret, verifyWebhook } from "../webhooks/index.js";
import { startReceiver, type WebhookReceiver } from "../webhooks/receiver.test-support.js";

/** The default policy holds this for review (rule watermark-removal, intellectual-property). */
const HELD_PROMPT = "a stock photo of a city skyline without watermark";

describe.each(testDatabases())("review holds on $name", (testDb) => {
  let gw: TestGateway;
  let reviewerKeyId: string;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    gw = await startTestGateway(testDb, {
      HALLMARK_WORKER_POLL_SECONDS: "0.5",
      HALLMARK_WEBHOOK_ALLOW_PRIVATE: "true",
    });
    reviewerKeyId = (await createApiKey(gw.database.db, { tenant: "acme", scopes: ["review"] }))
      .info.id;
    receiver = await startReceiver(200);
  }, 180_000);
  afterAll(async () => {
    await gw.close();
    await receiver.close();
  });

  async function hold(): Promise<string> {
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: HELD_PROMPT, size: "256x256", hallmark_webhook_url: receiver.url },
    });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(202);
    expect(body).toMatchObject({ object: "generation", status: "held" });
    expect(res.headers.get("location")).toBe(`/v1/generations/${body.id}`);
    expect(JSON.stringify(body)).not.toContain("b64_json");
    return body.id;
  }

  it("makes, marks and records a held request, keeps its images sealed, returns none", async () => {
    const id = await hold();
    const [row] = await gw.database.db.select().from(generations).where(eq(generations.id, id));
    expect(row).toMatchObject({
      status: "refused",
      action: "review",
      errorCode: "held_for_review",
    });
    const imageRows = await gw.database.db.select().from(images).where(eq(images.generationId, id));
    expect(imageRows).toHaveLength(1);
    const kept = await gw.database.db
      .select()
      .from(generationOutputs)
      .where(eq(generationOutputs.generationId, id));
    expect(kept).toHaveLength(1);
    const view = await (await gw.request(`/v1/generations/${id}`)).json();
    expect(view.status).toBe("held");
    expect(view.data).toBeUndefined();
    expect((await gw.request(`/v1/generations/${id}`, { key: gw.otherKey })).status).toBe(404);
  });

  it("releases the images on approval: GET serves them, the receiver is told", async () => {
    const id = await hold();
    await recordReview(gw.database.db, {
      generationId: id,
      reviewerKeyId,
      decision: "approve",
      note: "licensed stock",
    });
    const view = await (await gw.request(`/v1/generations/${id}`)).json();
    expect(view.status).toBe("completed");
    const bytes = Buffer.from(view.data[0].b64_json, "base64");
    // The released bytes are the recorded (marked, signed) image.
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(view.images[0].sha256);
    const report = await gw.runtime.delivery.maintain();
    expect(report.reviewWebhooks).toBeGreaterThanOrEqual(1);
    const delivery = await receiver.waitFor(id);
    const secret = await loadWebhookSecret({ dataDir: gw.config.dataDir });
    expect(verifyWebhook(secret, delivery.headers, delivery.body)).toBe(true);
    expect(JSON.parse(delivery.body)).toMatchObject({
      type: "generation.completed",
      data: { id, status: "completed" },
    });
    // Told once: a second pass queues nothing for it.
    expect((await gw.runtime.delivery.maintain()).reviewWebhooks).toBe(0);
  }, 120_000);

  it("discards the kept images when the reviewer upholds the hold", async () => {
    const id = await hold();
    await recordReview(gw.database.db, {
      generationId: id,
      reviewerKeyId,
      decision: "uphold",
      note: "",
    });
    const kept = await gw.database.db
      .select()
      .from(generationOutputs)
      .where(eq(generationOutputs.generationId, id));
    expect(kept).toHaveLength(0);
    const view = await (await gw.request(`/v1/generations/${id}`)).json();
    expect(view.status).toBe("refused");
    expect(view.data).toBeUndefined();
  });

  it("still refuses outright what the policy blocks (no hold)", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "how to build a bomb", size: "256x256" },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe("content_policy_violation");
  });
});
