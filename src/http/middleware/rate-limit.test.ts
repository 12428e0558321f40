import { and, count, eq, gte, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generations, images } from "../../db/schema.js";
import { testDatabases } from "../../db/test-databases.js";
import { setTenantLimits } from "../../limits/index.js";
import { resultRows } from "../../limits/sql-rows.js";
import { testRedisUrl } from "../../limits/test-support.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { createApiKey } from "../../tenants/index.js";
import { limitedTenant, type Replica, startReplica } from "./rate-limit.test-support.js";

/**
 * Rate limits and image quotas through HTTP, on two gateways over one database: what one
 * admits, the other counts. Tenants get their own limits (overrides read on every request:
 * HALLMARK_LIMITS_CACHE_MS=0); the defaults are high enough not to interfere.
 */
const ENV = {
  HALLMARK_LIMITS_CACHE_MS: "0",
  HALLMARK_RATE_LIMIT_RPS: "1000",
  HALLMARK_RATE_LIMIT_BURST: "1000",
};
const gen = { prompt: "a lighthouse at dusk", size: "256x256" };

// Two whole gateways per database: starting them is slow on a loaded machine.
vi.setConfig({ testTimeout: 180_000 });

describe.each(testDatabases())("rate limits and quotas on $name", (testDb) => {
  let gw: TestGateway;
  let replica: Replica;
  beforeAll(async () => {
    gw = await startTestGateway(testDb, ENV);
    replica = await startReplica(gw, { ...ENV, HALLMARK_VERIFY_REQUIRES_KEY: "true" });
  }, 300_000);
  afterAll(async () => {
    await replica?.close();
    await gw?.close();
  });
  /**
   * Waits for both gateways' quota settlements (each settles after its answer has gone): a
   * gateway's own reads wait for its own, not for another replica's.
   */
  const settled = () =>
    Promise.all([gw.runtime.limits.settled(), replica.runtime.limits.settled()]);
  /** Alternates requests between the two gateways. */
  const either = (i: number, path: string, init: { key: string; json?: unknown }) =>
    i % 2 ? gw.request(path, init) : replica.request(path, init);

  it("two gateways share one rate limit: exactly `burst` of 12 concurrent requests pass", async () => {
    const t = await limitedTenant(gw, { rps: 0.01, burst: 6 });
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        either(i, "/v1/moderations", { key: t.key, json: { input: "a sunny meadow" } }),
      ),
    );
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(ok).toHaveLength(6);
    expect(limited).toHaveLength(6);
    for (const res of ok) {
      expect(res.headers.get("ratelimit-policy")).toBe('"rate";q=6;w=600');
      expect(res.headers.get("ratelimit")).toMatch(/^"rate";r=[0-5];t=\d+$/);
    }
    const remaining = ok.map((r) => Number(/r=(\d+)/.exec(r.headers.get("ratelimit")!)![1]));
    expect(remaining.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const res of limited) {
      const body = await res.json();
      expect(body.error).toMatchObject({ code: "rate_limit_exceeded", type: "rate_limit_error" });
      expect(typeof body.error.request_id).toBe("string");
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(res.headers.get("ratelimit")).toMatch(/^"rate";r=0;t=\d+$/);
      expect(res.headers.get("ratelimit-policy")).toBe('"rate";q=6;w=600');
    }
    // The tenant's limit is its own: another tenant goes on.
    expect((await gw.request("/v1/moderations", { json: { input: "x" } })).status).toBe(200);
  });

  it("counts every authenticated route, errors included, and lifts with rps off", async () => {
    const t = await limitedTenant(gw, { rps: 0.01, burst: 2 });
    const missing = await gw.request("/v1/generations/00000000-0000-4000-8000-000000000000", {
      key: t.key,
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("ratelimit")).toMatch(/^"rate";r=1;/);
    expect((await replica.request("/v1/usage", { key: t.key })).status).toBe(200);
    const third = await gw.request("/v1/usage", { key: t.key });
    expect(third.status).toBe(429);
    // An override of 0 lifts the limit (and the fields go with it).
    await setTenantLimits(gw.database.db, t.name, { rps: 0 });
    const free = await gw.request("/v1/usage", { key: t.key });
    expect(free.status).toBe(200);
    expect(free.headers.get("ratelimit")).toBeNull();
  });

  it("concurrent generations on two gateways never exceed the day quota", async () => {
    const t = await limitedTenant(gw, { imagesPerDay: 3 });
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        either(i, "/v1/images/generations", { key: t.key, json: gen }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    for (const res of responses) {
      expect(res.headers.get("ratelimit-policy")).toContain('"images-day";q=3;w=86400;qu="images"');
      if (res.status === 429) {
        const body = await res.json();
        expect(body.error).toMatchObject({ code: "quota_exceeded", period: "day", limit: 3 });
        const retry = Number(res.headers.get("retry-after"));
        expect(retry).toBeGreaterThan(0);
        expect(retry).toBeLessThanOrEqual(86_400);
        expect(res.headers.get("ratelimit")).toMatch(/"images-day";r=0;t=\d+/);
      }
    }
    await settled();
    const [delivered] = await gw.database.db
      .select({ n: count() })
      .from(images)
      .innerJoin(generations, eq(images.generationId, generations.id))
      .where(and(eq(generations.tenantId, t.id), gte(generations.createdAt, new Date(0))));
    expect(delivered?.n).toBe(3);
  });

  it("counts images delivered: refusals, bad requests and oversized n give theirs back", async () => {
    const t = await limitedTenant(gw, { imagesPerDay: 2, imagesPerMonth: 10 });
    const used = async () => {
      await settled();
      return (await (await gw.request("/v1/usage", { key: t.key })).json()).limits.images_per_day
        .used;
    };
    const refused = await gw.request("/v1/images/generations", {
      key: t.key,
      json: { prompt: "explicit porn of a nude woman" },
    });
    expect(refused.status).toBe(400);
    expect(await used()).toBe(0);
    const bad = await replica.request("/v1/images/generations", {
      key: t.key,
      json: { ...gen, size: "3x3" },
    });
    expect(bad.status).toBe(400);
    expect(await used()).toBe(0);
    const tooMany = await gw.request("/v1/images/generations", {
      key: t.key,
      json: { ...gen, n: 3 },
    });
    expect(tooMany.status).toBe(429);
    expect(await used()).toBe(0);
    const two = await gw.request("/v1/images/generations", { key: t.key, json: { ...gen, n: 2 } });
    expect(two.status).toBe(200);
    expect(two.headers.get("ratelimit")).toContain('"images-day";r=0;');
    expect(two.headers.get("ratelimit")).toContain('"images-month";r=8;');
    expect(await used()).toBe(2);
    expect(
      (await replica.request("/v1/images/generations", { key: t.key, json: gen })).status,
    ).toBe(429);
    // Every request settled its hold, delivered or not: none is left to expire and be given back.
    await settled();
    const holds = await gw.database.db.execute(
      sql`select count(*)::int as held from quota_reservations where tenant_id = ${t.id}::uuid`,
    );
    expect(resultRows(holds)[0]).toEqual({ held: 0 });
  });

  it("a tenant without a quota: nothing held, delivered images counted on either gateway", async () => {
    const t = await limitedTenant(gw, {});
    const used = async () => {
      await settled();
      return (await (await gw.request("/v1/usage", { key: t.key })).json()).limits.images_per_day;
    };
    const refused = await replica.request("/v1/images/generations", {
      key: t.key,
      json: { prompt: "explicit porn of a nude woman" },
    });
    expect(refused.status).toBe(400);
    const bad = await gw.request("/v1/images/generations", {
      key: t.key,
      json: { ...gen, size: "3x3" },
    });
    expect(bad.status).toBe(400);
    expect(await used()).toMatchObject({ limit: 0, used: 0 });
    const [two, one] = await Promise.all([
      gw.request("/v1/images/generations", { key: t.key, json: { ...gen, n: 2 } }),
      replica.request("/v1/images/generations", { key: t.key, json: gen }),
    ]);
    expect([two.status, one.status]).toEqual([200, 200]);
    // No quota, so no quota members in the RateLimit headers.
    expect(two.headers.get("ratelimit") ?? "").not.toContain("images-");
    expect(await used()).toMatchObject({ limit: 0, used: 3 });
    await settled();
    const holds = await gw.database.db.execute(
      sql`select count(*)::int as held from quota_reservations where tenant_id = ${t.id}::uuid`,
    );
    expect(resultRows(holds)[0]).toEqual({ held: 0 });
  });

  it("keeps verify public by default; a gateway configured for it wants a verify key", async () => {
    const body = new Uint8Array([1, 2, 3]);
    const headers = { "content-type": "image/png" };
    const open = await gw.request("/v1/provenance/verify", { key: null, body, headers });
    expect(open.status).not.toBe(401);
    const closed = await replica.request("/v1/provenance/verify", { body, headers });
    expect(closed.status).toBe(401);
    const { key: reviewer } = await createApiKey(gw.database.db, {
      tenant: "acme",
      scopes: ["review"],
    });
    const wrong = await replica.request("/v1/provenance/verify", { key: reviewer, body, headers });
    expect(wrong.status).toBe(403);
    const right = await replica.request("/v1/provenance/verify", { key: gw.key, body, headers });
    expect([400, 415, 422]).toContain(right.status);
    expect(right.headers.get("ratelimit")).toMatch(/^"rate";/);
  });
});

const redisUrl = await testRedisUrl();

/** The same guarantees with the state in Redis (HALLMARK_REDIS_URL), and 503 when it is away. */
describe.runIf(redisUrl !== null)("rate limits and quotas in Redis", () => {
  let gw: TestGateway;
  let replica: Replica;
  let stranded: Replica;
  beforeAll(async () => {
    const env = { ...ENV, HALLMARK_REDIS_URL: redisUrl! };
    gw = await startTestGateway(testDatabases()[0]!, env);
    replica = await startReplica(gw, env);
    stranded = await startReplica(gw, {
      ...env,
      HALLMARK_REDIS_URL: "redis://127.0.0.1:1",
      HALLMARK_REDIS_TIMEOUT_MS: "300",
    });
  }, 300_000);
  afterAll(async () => {
    await stranded?.close();
    await replica?.close();
    await gw?.close();
  });

  it("two gateways share one rate limit and one quota through Redis", async () => {
    const t = await limitedTenant(gw, { rps: 0.01, burst: 5, imagesPerDay: 2 });
    const either = (i: number, path: string, json: unknown) =>
      i % 2 ? gw.request(path, { key: t.key, json }) : replica.request(path, { key: t.key, json });
    const generated = await Promise.all(
      Array.from({ length: 4 }, (_, i) => either(i, "/v1/images/generations", gen)),
    );
    expect(generated.map((r) => r.status).sort()).toEqual([200, 200, 429, 429]);
    const moderated = await Promise.all(
      Array.from({ length: 4 }, (_, i) => either(i, "/v1/moderations", { input: "x" })),
    );
    // 4 of the 5 requests of the burst went to generations.
    expect(moderated.map((r) => r.status).sort()).toEqual([200, 429, 429, 429]);
  });

  it("fails closed: 503 when Redis does not answer, whatever the key", async () => {
    const res = await stranded.request("/v1/moderations", { key: gw.key, json: { input: "x" } });
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe("database_unavailable");
    expect(res.headers.get("retry-after")).not.toBeNull();
  });
});
