/**
 * The limiter's added latency: one authenticated request through a small Hono app (the real
 * bearerAuth against the database) without the limiter, beside the same with the rate limiter
 * and with rate limit + image-quota reservation and release, per store: PGlite, PostgreSQL
 * (BENCH_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test) and Redis (BENCH_REDIS_URL
 * or 127.0.0.1:6379 when it answers). Medians in one run; the ratio is to the no-limiter row of
 * the same database. Sequential requests (latency, not throughput).
 *
 *   npx tsx bench/ratelimit.bench.ts [--time 3000]
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { Redis } from "ioredis";
import { Bench } from "tinybench";
import { type Database, openDatabase } from "../src/db/index.js";
import type { AppEnv } from "../src/http/context.js";
import { errorResponse } from "../src/http/errors.js";
import { bearerAuth } from "../src/http/middleware/auth.js";
import { rateLimit } from "../src/http/middleware/rate-limit.js";
import { imageQuota } from "../src/http/middleware/rate-limit-quota.js";
import {
  createLimits,
  createPostgresLimitStore,
  createRedisLimitStore,
  type LimitStore,
} from "../src/limits/index.js";
import { authenticate, createApiKey, createTenant } from "../src/tenants/index.js";

const { values } = parseArgs({ options: { time: { type: "string", default: "3000" } } });
const time = Number(values.time);

async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on("error", () => {});
  try {
    await r.connect();
    return (await r.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

function app(database: Database, middleware: MiddlewareHandler<AppEnv>[]) {
  const a = new OpenAPIHono<AppEnv>();
  a.onError((error, c) => errorResponse(c, error));
  a.use(
    "/v1/*",
    bearerAuth((key) => authenticate(database.db, key)),
    ...middleware,
  );
  a.post("/v1/x", (c) => c.json({ ok: true }));
  return a;
}

interface Row {
  name: string;
  p50: number;
  p99: number;
  samples: number;
  base: string;
}
const rows: Row[] = [];

async function measure(label: string, database: Database, store: LimitStore) {
  const tenant = `b${randomBytes(4).toString("hex")}`;
  await createTenant(database.db, tenant);
  const { key } = await createApiKey(database.db, { tenant });
  const limits = createLimits({
    db: database.db,
    store,
    // High enough never to refuse: the bench measures the cost of asking, not of refusing.
    defaults: { rate: { rps: 1e6, burst: 1e9 }, quota: { imagesPerDay: 1e9, imagesPerMonth: 1e9 } },
    cacheMs: 5000,
  });
  // A tenant without a quota: no hold, its images counted on commit (one statement).
  const counting = createLimits({
    db: database.db,
    store,
    defaults: { rate: { rps: 1e6, burst: 1e9 }, quota: { imagesPerDay: 0, imagesPerMonth: 0 } },
    cacheMs: 5000,
  });
  const plain = app(database, []);
  const rated = app(database, [rateLimit(limits)]);
  const quota = app(database, [rateLimit(limits), imageQuota(limits, { maxImages: 4 })]);
  const counted = app(database, [rateLimit(counting), imageQuota(counting, { maxImages: 4 })]);
  const init = () => ({
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: '{"n":1}',
  });
  const call = async (a: ReturnType<typeof app>) => {
    const res = await a.request("http://bench/v1/x", init());
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    await res.arrayBuffer();
  };
  const bench = new Bench({ time, warmup: true, warmupTime: 500 });
  bench
    .add(`${label}: auth only (no limiter)`, () => call(plain))
    .add(`${label}: + rate limit`, () => call(rated))
    .add(`${label}: + rate limit + quota reservation`, () => call(quota))
    .add(`${label}: + rate limit + image count, no quota`, () => call(counted));
  await bench.run();
  const first = bench.tasks[0]!.result;
  const baseP50 = first && "latency" in first ? first.latency.p50 : undefined;
  for (const task of bench.tasks) {
    const r = task.result;
    if (r === undefined || !("latency" in r)) continue;
    rows.push({
      name: task.name,
      p50: r.latency.p50 ?? Number.NaN,
      p99: r.latency.p99 ?? Number.NaN,
      samples: r.latency.samplesCount,
      base: baseP50 && r.latency.p50 ? `${(r.latency.p50 / baseP50).toFixed(2)}x` : "-",
    });
  }
  await limits.close();
  await counting.close();
}

const pglite = await openDatabase();
await pglite.migrate();
await measure("PGlite", pglite, createPostgresLimitStore(pglite.db));
const pgUrl = process.env.BENCH_DATABASE_URL;
if (pgUrl) {
  const pg = await openDatabase({ url: pgUrl });
  await pg.migrate();
  await measure("PostgreSQL", pg, createPostgresLimitStore(pg.db));
  const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
  if (await redisAnswers(redisUrl)) {
    const store = await createRedisLimitStore({
      url: redisUrl,
      prefix: `hallmark-bench:${randomBytes(4).toString("hex")}:`,
      timeoutMs: 2000,
    });
    await measure("PostgreSQL + Redis store", pg, store);
  } else {
    console.log(`(no Redis answers on ${redisUrl}: no Redis rows)`);
  }
  await pg.close();
} else {
  console.log("(BENCH_DATABASE_URL not set: PGlite rows only)");
}
await pglite.close();

const ms = (v: number) => `${v.toFixed(3)} ms`;
console.log(`node ${process.version}, ${time} ms per task, sequential requests`);
console.log(
  `${"task".padEnd(66)} ${"samples".padStart(7)} ${"p50".padStart(10)} ${"p99".padStart(10)}  p50 / no limiter`,
);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(66)} ${String(r.samples).padStart(7)} ${ms(r.p50).padStart(10)} ${ms(r.p99).padStart(10)}  ${r.base}`,
  );
}
