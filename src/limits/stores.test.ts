import { randomBytes, randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../db/index.js";
import { testDatabases } from "../db/test-databases.js";
import { createTenant } from "../tenants/index.js";
import { decide, intervalMs } from "./gcra.js";
import { createLimits } from "./limits.js";
import { createPostgresLimitStore } from "./postgres-store.js";
import { createRedisLimitStore } from "./redis-store.js";
import { resultRows } from "./sql-rows.js";
import { setTenantLimits } from "./tenant-limits.js";
import { testRedisUrl } from "./test-support.js";
import type { LimitStore, RateState } from "./types.js";

/**
 * Both stores, each as two "replicas" (two independent connections to one backing store), so
 * that what one admits the other sees. Counts under concurrency are exact, not approximate.
 */
interface StoreCase {
  name: string;
  /** Two stores over the same state, plus a way to make a tenant id the store accepts. */
  open(): Promise<{
    a: LimitStore;
    b: LimitStore;
    tenant(): Promise<string>;
    close(): Promise<void>;
  }>;
}

const redisUrl = await testRedisUrl();

const cases: StoreCase[] = testDatabases().map((testDb) => ({
  name: testDb.name,
  open: async () => {
    const database = await testDb.open();
    // A second pool on PostgreSQL: a second replica. PGlite is one in-process database.
    const second: Database = database.url
      ? await openDatabase({ url: database.url, maxConnections: 5 })
      : database;
    return {
      a: createPostgresLimitStore(database.db),
      b: createPostgresLimitStore(second.db),
      tenant: async () =>
        (await createTenant(database.db, `t${randomBytes(4).toString("hex")}`)).id,
      close: async () => {
        if (second !== database) await second.close();
        await database.close();
      },
    };
  },
}));
if (redisUrl) {
  cases.push({
    name: "redis",
    open: async () => {
      const prefix = `hallmark-test:${randomBytes(6).toString("hex")}:`;
      const a = await createRedisLimitStore({ url: redisUrl, prefix, timeoutMs: 2000 });
      const b = await createRedisLimitStore({ url: redisUrl, prefix, timeoutMs: 2000 });
      return {
        a,
        b,
        tenant: async () => randomUUID(),
        close: async () => {
          await a.close();
          await b.close();
        },
      };
    },
  });
}

/** A hold no test outlives, except where a test waits for one to expire. */
const HOLD = 60_000;

describe.each(cases)("limit store on $name", (storeCase) => {
  let s: Awaited<ReturnType<StoreCase["open"]>>;
  beforeAll(async () => {
    s = await storeCase.open();
  });
  afterAll(() => s.close());

  it("admits exactly `burst` of many concurrent requests from two replicas", async () => {
    const rule = { rps: 0.01, burst: 7 };
    const key = `t:${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => (i % 2 ? s.a : s.b).take(key, rule)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(7);
    const refused = results.find((r) => !r.allowed)!;
    // The refused request left the TAT where the seventh put it: burst × interval ahead.
    expect(refused.tatMs - refused.nowMs).toBeGreaterThan(6.9 * 100_000);
    // Another key is not affected.
    expect((await s.a.take(`t:${randomUUID()}`, rule)).allowed).toBe(true);
  });

  it("lets a request through again once an interval has passed", async () => {
    const rule = { rps: 20, burst: 1 };
    const key = `t:${randomUUID()}`;
    expect((await s.a.take(key, rule)).allowed).toBe(true);
    expect((await s.b.take(key, rule)).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect((await s.b.take(key, rule)).allowed).toBe(true);
  });

  it("never lets concurrent reservations from two replicas exceed a day quota", async () => {
    const tenant = await s.tenant();
    const rule = { imagesPerDay: 10, imagesPerMonth: 0 };
    const sizes = [3, 1, 2, 4, 1, 3, 2, 2, 1, 4, 3, 1];
    const results = await Promise.all(
      sizes.map((n, i) => (i % 2 ? s.a : s.b).reserve(tenant, n, rule, HOLD)),
    );
    const granted = results.flatMap((r) => (r.ok ? [r.reservation.n] : []));
    const total = granted.reduce((x, y) => x + y, 0);
    expect(total).toBeLessThanOrEqual(10);
    // Greedy admission: a refused request is one that no longer fitted.
    for (const r of results) if (!r.ok) expect(r.period).toBe("day");
    const smallestRefused = Math.min(...results.flatMap((r, i) => (r.ok ? [] : [sizes[i]!])));
    expect(total + smallestRefused).toBeGreaterThan(10);
    expect((await s.a.used(tenant)).used).toEqual({ day: total, month: total });
  });

  it("refuses on the month quota, and a release gives the images back to both periods", async () => {
    const tenant = await s.tenant();
    const rule = { imagesPerDay: 0, imagesPerMonth: 5 };
    const first = await s.a.reserve(tenant, 4, rule, HOLD);
    expect(first.ok).toBe(true);
    const second = await s.b.reserve(tenant, 2, rule, HOLD);
    expect(second).toMatchObject({ ok: false, period: "month", used: { day: 4, month: 4 } });
    if (!first.ok) throw new Error("unreachable");
    await s.b.release(first.reservation);
    expect((await s.a.used(tenant)).used).toEqual({ day: 0, month: 0 });
    expect((await s.a.reserve(tenant, 5, rule, HOLD)).ok).toBe(true);
    expect((await s.a.reserve(tenant, 6, { imagesPerDay: 0, imagesPerMonth: 0 }, HOLD)).ok).toBe(
      true,
    );
  });

  it("gives back a hold nobody settled once it expires (its replica died)", async () => {
    const tenant = await s.tenant();
    const rule = { imagesPerDay: 5, imagesPerMonth: 0 };
    // Replica a reserves 4 and dies: it never commits nor releases.
    expect((await s.a.reserve(tenant, 4, rule, 200)).ok).toBe(true);
    expect(await s.b.reserve(tenant, 2, rule, HOLD)).toMatchObject({ ok: false, period: "day" });
    await new Promise((r) => setTimeout(r, 400));
    // The next reservation of that tenant first gives the expired hold back.
    const after = await s.b.reserve(tenant, 2, rule, HOLD);
    expect(after).toMatchObject({ ok: true, reservation: { used: { day: 2, month: 2 } } });
    expect((await s.a.used(tenant)).used).toEqual({ day: 2, month: 2 });
  });

  it("counts committed images for good, and a release after expiry gives nothing back twice", async () => {
    const tenant = await s.tenant();
    const rule = { imagesPerDay: 10, imagesPerMonth: 0 };
    const kept = await s.a.reserve(tenant, 3, rule, 200);
    const lost = await s.a.reserve(tenant, 2, rule, 200);
    if (!kept.ok || !lost.ok) throw new Error("reservations refused");
    await s.b.commit(kept.reservation);
    await new Promise((r) => setTimeout(r, 400));
    // The expired hold (2) is reclaimed; the committed one (3) is not.
    const next = await s.a.reserve(tenant, 1, rule, HOLD);
    expect(next).toMatchObject({ ok: true, reservation: { used: { day: 4 } } });
    // Its late release finds nothing to give back.
    await s.b.release(lost.reservation);
    expect((await s.a.used(tenant)).used.day).toBe(4);
    // A late commit of a reclaimed hold counts its images again: they were delivered.
    await s.b.commit(lost.reservation);
    expect((await s.a.used(tenant)).used.day).toBe(6);
    // Releasing twice gives back once.
    if (!next.ok) throw new Error("unreachable");
    await s.a.release(next.reservation);
    await s.b.release(next.reservation);
    expect((await s.a.used(tenant)).used.day).toBe(5);
  });

  it("counts delivered images without a hold, exactly, from both replicas at once", async () => {
    const tenant = await s.tenant();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? s.a : s.b).count(tenant, 1 + (i % 3))),
    );
    // 7 × 1 + 7 × 2 + 6 × 3
    expect((await s.b.used(tenant)).used).toEqual({ day: 39, month: 39 });
    // A quota set later starts from the true figure.
    const rule = { imagesPerDay: 40, imagesPerMonth: 0 };
    expect(await s.a.reserve(tenant, 2, rule, HOLD)).toMatchObject({ ok: false, period: "day" });
    expect(await s.a.reserve(tenant, 1, rule, HOLD)).toMatchObject({
      ok: true,
      reservation: { used: { day: 40, month: 40 } },
    });
  });

  it("refuses a request larger than the whole quota without counting it", async () => {
    const tenant = await s.tenant();
    const result = await s.a.reserve(tenant, 4, { imagesPerDay: 3, imagesPerMonth: 0 }, HOLD);
    expect(result).toMatchObject({ ok: false, period: "day" });
    expect((await s.a.used(tenant)).used.day).toBe(0);
  });
});

describe.each(testDatabases())("the limiter for a tenant without a quota ($name)", (testDb) => {
  let database: Database;
  beforeAll(async () => {
    database = await testDb.open();
  });
  afterAll(() => database.close());

  it("holds nothing in the store, and counts the images it delivers when committed", async () => {
    const tenant = await createTenant(database.db, `nq${randomBytes(4).toString("hex")}`);
    const limits = createLimits({
      db: database.db,
      store: createPostgresLimitStore(database.db),
      defaults: { rate: { rps: 0, burst: 0 }, quota: { imagesPerDay: 0, imagesPerMonth: 0 } },
      cacheMs: 0,
    });
    const holds = async () =>
      resultRows(
        await database.db.execute(
          sql`select count(*)::int as n from quota_reservations where tenant_id = ${tenant.id}::uuid`,
        ),
      )[0]?.n;
    const delivered = await limits.reserveImages(tenant.id, 3);
    const refused = await limits.reserveImages(tenant.id, 2);
    if (!delivered.ok || !refused.ok) throw new Error("a tenant without a quota was refused");
    expect(delivered.reservation).toMatchObject({ id: null, used: null });
    expect(delivered.quota.used).toBeNull();
    expect(await holds()).toBe(0);
    expect((await limits.quotaUsed(tenant.id)).used).toEqual({ day: 0, month: 0 });
    await limits.commit(delivered.reservation);
    await limits.release(refused.reservation);
    expect((await limits.quotaUsed(tenant.id)).used).toEqual({ day: 3, month: 3 });
    await limits.close();
  });

  it("settles after the answer: this replica's next reservation and usage read see it, close waits", async () => {
    const tenant = await createTenant(database.db, `sl${randomBytes(4).toString("hex")}`);
    const other = await createTenant(database.db, `so${randomBytes(4).toString("hex")}`);
    await setTenantLimits(database.db, other.name, { imagesPerDay: 0 });
    const make = () =>
      createLimits({
        db: database.db,
        store: createPostgresLimitStore(database.db),
        defaults: { rate: { rps: 0, burst: 0 }, quota: { imagesPerDay: 4, imagesPerMonth: 0 } },
        cacheMs: 0,
      });
    const limits = make();
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    const first = await limits.reserveImages(tenant.id, 3);
    if (!first.ok) throw new Error("refused");
    limits.settleLater(first.reservation, false, onError);
    // The release has not been awaited: the next reservation waits for it, so 4 fit again.
    const second = await limits.reserveImages(tenant.id, 4);
    if (!second.ok) throw new Error("the release was not seen by the next reservation");
    limits.settleLater(second.reservation, true, onError);
    expect((await limits.quotaUsed(tenant.id)).used.day).toBe(4);
    const third = await limits.reserveImages(tenant.id, 1);
    expect(third.ok).toBe(false);
    if (third.ok) return;
    expect(third.used.day).toBe(4);
    // A count started and not awaited is written before close returns: another replica reads it.
    const counted = await limits.reserveImages(other.id, 2);
    if (!counted.ok) throw new Error("a tenant without a quota was refused");
    limits.settleLater(counted.reservation, true, onError);
    await limits.close();
    const replica = make();
    expect((await replica.quotaUsed(other.id)).used).toEqual({ day: 2, month: 2 });
    await replica.close();
    expect(errors).toEqual([]);
  });
});

describe("the limiter fails closed", () => {
  let database: Database;
  beforeAll(async () => {
    database = await testDatabases()[0]!.open();
  });

  it("answers database_unavailable when Redis does not answer", async () => {
    const tenant = await createTenant(database.db, "noredis");
    const store = await createRedisLimitStore({ url: "redis://127.0.0.1:1", timeoutMs: 300 });
    const limits = createLimits({
      db: database.db,
      store,
      defaults: { rate: { rps: 1, burst: 1 }, quota: { imagesPerDay: 5, imagesPerMonth: 0 } },
      cacheMs: 0,
    });
    await expect(limits.checkRate(tenant.id)).rejects.toMatchObject({
      code: "database_unavailable",
    });
    await expect(limits.reserveImages(tenant.id, 1)).rejects.toMatchObject({
      code: "database_unavailable",
    });
    await limits.close();
  });

  it("answers database_unavailable when its database is gone", async () => {
    const tenant = await createTenant(database.db, "gone");
    const limits = createLimits({
      db: database.db,
      store: createPostgresLimitStore(database.db),
      defaults: { rate: { rps: 1, burst: 1 }, quota: { imagesPerDay: 0, imagesPerMonth: 0 } },
      cacheMs: 0,
    });
    expect(await limits.checkRate(tenant.id)).toMatchObject({ allowed: true });
    await database.close();
    await expect(limits.checkRate(tenant.id)).rejects.toMatchObject({
      code: "database_unavailable",
    });
  });
});

/**
 * PostgreSQL only (PGlite has one connection, so no statement ever waits for another's lock):
 * a request whose statement started before another's, but got the row after it, reports the
 * tokens left at the time it got the row.
 */
describe.each(testDatabases().filter((d) => d.name === "postgres"))(
  "PostgreSQL limiter store under lock contention ($name)",
  (testDb) => {
    it("a statement that waited for the row lock still reports the right remaining count", async () => {
      const database = await testDb.open();
      const other = await openDatabase({ url: database.url!, maxConnections: 2 });
      try {
        const store = createPostgresLimitStore(database.db);
        const rule = { rps: 0.01, burst: 6 };
        const key = `contention:${randomUUID()}`;
        await database.db.execute(
          sql`insert into rate_limit_state (key, tat_ms, allowed) values (${key}, 0, true)`,
        );
        let waiting: Promise<RateState> | undefined;
        await other.db.transaction(async (tx) => {
          await tx.execute(sql`select tat_ms from rate_limit_state where key = ${key} for update`);
          // B's statement starts now and waits for the row...
          waiting = store.take(key, rule);
          await new Promise((r) => setTimeout(r, 300));
          // ...while A, which started 300 ms later, takes a token first.
          await tx.execute(sql`
            update rate_limit_state
            set tat_ms = extract(epoch from clock_timestamp())::float8 * 1000 + ${intervalMs(rule)}::float8
            where key = ${key}`);
        });
        const state = await waiting!;
        expect(state.allowed).toBe(true);
        // Two tokens of six are gone: four remain (measured from B's start it said three).
        expect(decide(state, rule).remaining).toBe(4);
      } finally {
        await other.close();
        await database.close();
      }
    });
  },
);
