import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generations } from "../db/schema.js";
import { auditLogEntries } from "../db/schema-audit.js";
import { generationJobs, generationOutputs } from "../db/schema-jobs.js";
import { testDatabases } from "../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { loadWebhookSecret, verifyWebhook } from "../webhooks/index.js";
import { startReceiver, type WebhookReceiver } from "../webhooks/receiver.test-support.js";
import { startSlowFirstUpstream } from "./test-upstream.js";

const ASYNC_ENV = {
  HALLMARK_WORKER_IN_SERVE: "true",
  HALLMARK_WORKER_POLL_SECONDS: "0.5",
  HALLMARK_WEBHOOK_ALLOW_PRIVATE: "true",
  HALLMARK_WEBHOOK_RETRIES: "2",
};

/** Polls GET /v1/generations/{id} until it leaves queued/running. */
async function settle(gw: TestGateway, id: string, timeoutMs = 90_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await gw.request(`/v1/generations/${id}`);
    const body = await res.json();
    if (res.status !== 200) throw new Error(`GET ${res.status}: ${JSON.stringify(body)}`);
    if (body.status !== "queued" && body.status !== "running") return body;
    if (Date.now() > until) throw new Error(`still ${body.status}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function entriesFor(gw: TestGateway, id: string): Promise<number> {
  const [row] = await gw.database.db
    .select({ n: sql<number>`count(*)::int` })
    .from(auditLogEntries)
    .where(eq(auditLogEntries.generationId, id));
  return row!.n;
}

describe.each(testDatabases())("asynchronous generation on $name", (testDb) => {
  let gw: TestGateway;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    gw = await startTestGateway(testDb, ASYNC_ENV);
    receiver = await startReceiver();
  }, 120_000);
  afterAll(async () => {
    await gw.close();
    await receiver.close();
  });

  it("answers 202 with a Location, then GET serves the images once a worker has made them", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "a lighthouse at dusk", size: "256x256", seed: 3 },
      headers: { Prefer: "respond-async" },
    });
    expect(res.status).toBe(202);
    const accepted = await res.json();
    expect(accepted).toMatchObject({ object: "generation", status: "queued" });
    expect(res.headers.get("location")).toBe(`/v1/generations/${accepted.id}`);
    expect(res.headers.get("preference-applied")).toBe("respond-async");
    const done = await settle(gw, accepted.id);
    expect(done.status).toBe("completed");
    expect(done.data).toHaveLength(1);
    const png = Buffer.from(done.data[0].b64_json, "base64");
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(done.images[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await entriesFor(gw, accepted.id)).toBe(1);
    // Stored sealed: the row's bytes are not the PNG.
    const [stored] = await gw.database.db
      .select()
      .from(generationOutputs)
      .where(eq(generationOutputs.generationId, accepted.id));
    expect(stored!.sealed.includes(png.subarray(0, 64))).toBe(false);
    // The sealed request is gone once recorded.
    const [job] = await gw.database.db
      .select()
      .from(generationJobs)
      .where(eq(generationJobs.id, accepted.id));
    expect(job).toMatchObject({ state: "recorded", request: null });
  });

  it("POSTs a webhook signed with the Standard Webhooks scheme when the job is done", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: {
        prompt: "a watercolour fox",
        size: "256x256",
        hallmark_async: true,
        hallmark_webhook_url: receiver.url,
      },
    });
    expect(res.status).toBe(202);
    const { id } = await res.json();
    await settle(gw, id);
    const delivery = await receiver.waitFor(id);
    const secret = await loadWebhookSecret({ dataDir: gw.config.dataDir });
    expect(verifyWebhook(secret, delivery.headers, delivery.body)).toBe(true);
    const event = JSON.parse(delivery.body);
    expect(event).toMatchObject({
      type: "generation.completed",
      data: { id, status: "completed" },
    });
    expect(event.data.url).toMatch(new RegExp(`/v1/generations/${id}$`));
    expect(delivery.body).not.toContain("b64_json");
  });

  it("records a refusal once, and GET says refused", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "n.u.d.e photo of a person", size: "256x256", hallmark_async: true },
    });
    expect(res.status).toBe(202);
    const { id } = await res.json();
    const done = await settle(gw, id);
    expect(done.status).toBe("refused");
    expect(done.data).toBeUndefined();
    expect(await entriesFor(gw, id)).toBe(1);
  });

  it("an idempotent retry of an async request returns the same id and queues nothing new", async () => {
    const send = () =>
      gw.request("/v1/images/generations", {
        json: { prompt: "a quiet harbour", size: "256x256", hallmark_async: true },
        headers: { "Idempotency-Key": "async-1" },
      });
    const a = await send();
    const b = await send();
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    const id = (await a.json()).id;
    expect((await b.json()).id).toBe(id);
    await settle(gw, id);
    expect(await entriesFor(gw, id)).toBe(1);
    const jobs = await gw.database.db
      .select()
      .from(generationJobs)
      .where(eq(generationJobs.id, id));
    expect(jobs).toHaveLength(1);
    const other = await gw.request("/v1/images/generations", {
      json: { prompt: "a loud harbour", size: "256x256", hallmark_async: true },
      headers: { "Idempotency-Key": "async-1" },
    });
    expect(other.status).toBe(422);
  });

  it("refuses webhook URLs that point inside the network unless configured (400)", async () => {
    const strict = await startTestGateway(testDb, { HALLMARK_WORKER_IN_SERVE: "false" });
    try {
      for (const url of [receiver.url, "https://169.254.169.254/x", "ftp://example.com/", "x"]) {
        const res = await strict.request("/v1/images/generations", {
          json: { prompt: "a fox", hallmark_async: true, hallmark_webhook_url: url },
        });
        expect(res.status, url).toBe(400);
        expect((await res.json()).error.code).toBe("invalid_webhook_url");
      }
      const rows = await strict.database.db.select().from(generationJobs);
      expect(rows).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });

  it("keeps generations private: another tenant gets 404, no key 401", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "a red kite", size: "256x256", hallmark_async: true },
    });
    const { id } = await res.json();
    expect((await gw.request(`/v1/generations/${id}`, { key: gw.otherKey })).status).toBe(404);
    expect((await gw.request(`/v1/generations/${id}`, { key: null })).status).toBe(401);
    await settle(gw, id);
    expect((await gw.request(`/v1/generations/${id}`, { key: gw.otherKey })).status).toBe(404);
  });
});

describe.each(testDatabases())("a job whose worker hangs, on $name", (testDb) => {
  it("is retried after it expires and completes once, with one audit record", async () => {
    const upstream = await startSlowFirstUpstream(8_000);
    const gw = await startTestGateway(testDb, {
      ...ASYNC_ENV,
      HALLMARK_BACKEND: "automatic1111",
      HALLMARK_A1111_URL: upstream.url,
      HALLMARK_BACKEND_RETRIES: "0",
      HALLMARK_JOB_EXPIRE_SECONDS: "2",
    });
    try {
      const res = await gw.request("/v1/images/generations", {
        json: { prompt: "a lighthouse at dusk", size: "256x256", seed: 5, hallmark_async: true },
      });
      expect(res.status).toBe(202);
      const { id } = await res.json();
      const done = await settle(gw, id);
      expect(done.status).toBe("completed");
      // The first attempt was presumed dead and the job retried: two backend calls.
      expect(upstream.received).toBeGreaterThanOrEqual(2);
      // Let the hung attempt finish too: its record is refused by the primary key.
      const until = Date.now() + 30_000;
      while (upstream.answered < upstream.received && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, 3000));
      expect(await entriesFor(gw, id)).toBe(1);
      const rows = await gw.database.db.select().from(generations).where(eq(generations.id, id));
      expect(rows).toHaveLength(1);
      const after = await (await gw.request(`/v1/generations/${id}`)).json();
      expect(after.status).toBe("completed");
      expect(after.data[0].b64_json).toBe(done.data[0].b64_json);
    } finally {
      await gw.close();
      await upstream.close();
    }
  }, 120_000);
});
