import { Redis } from "ioredis";
import { intervalMs, limitMs } from "./gcra.js";
import { periodsAt } from "./periods.js";
import type {
  LimitStore,
  Periods,
  QuotaRule,
  RateRule,
  RateState,
  Reservation,
  ReserveResult,
} from "./types.js";

/**
 * One GCRA step (gcra.ts), atomic because Redis runs a script alone. Time is the server's
 * (TIME), so replica clocks do not matter; Redis 7 replicates the script's effects, so reading
 * the clock before writing is allowed. Numbers go back as strings: Redis truncates Lua numbers.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local i = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + i
if nxt - now <= limit then
  redis.call('SET', KEYS[1], string.format('%.3f', nxt), 'PX', math.ceil(nxt - now) + 1000)
  return {1, string.format('%.3f', nxt), string.format('%.3f', now)}
end
return {0, string.format('%.3f', tat), string.format('%.3f', now)}
`;

/**
 * Adds n to the day and month counters only when both stay within their limits (-1: none).
 * Answers {ok, refused period (1 day, 2 month), day used, month used}.
 */
const RESERVE = `
local n = tonumber(ARGV[1])
local dl = tonumber(ARGV[2])
local ml = tonumber(ARGV[3])
local d = tonumber(redis.call('GET', KEYS[1]) or '0')
local m = tonumber(redis.call('GET', KEYS[2]) or '0')
if dl >= 0 and d + n > dl then return {0, 1, d, m} end
if ml >= 0 and m + n > ml then return {0, 2, d, m} end
d = redis.call('INCRBY', KEYS[1], n)
redis.call('EXPIRE', KEYS[1], ARGV[4])
m = redis.call('INCRBY', KEYS[2], n)
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {1, 0, d, m}
`;

/** Gives n back to both counters, never below 0 and never to a counter that has expired. */
const RELEASE = `
for _, k in ipairs(KEYS) do
  local v = tonumber(redis.call('GET', k) or '-1')
  if v >= 0 then redis.call('SET', k, math.max(0, v - tonumber(ARGV[1])), 'KEEPTTL') end
end
return 1
`;

/** Counters outlive their period by two days, for late releases. */
const KEEP_SECONDS = 2 * 86_400;

type ScriptedRedis = Redis & {
  hmTake(key: string, i: string, limit: string): Promise<[number, string, string]>;
  hmReserve(
    day: string,
    month: string,
    n: number,
    dayLimit: number,
    monthLimit: number,
    dayTtl: number,
    monthTtl: number,
  ): Promise<[number, number, number, number]>;
  hmRelease(day: string, month: string, n: number): Promise<number>;
};

export interface RedisStoreOptions {
  url: string;
  /** Key prefix, so several deployments can share one Redis. */
  prefix?: string;
  /** How long a command may take before the limiter answers 503. */
  timeoutMs: number;
}

/**
 * The limiter state in Redis (HALLMARK_REDIS_URL). Commands are never queued while Redis is
 * away: a request fails at once with an error, which the limiter turns into a 503 (fail closed).
 * Quota keys of a tenant share a hash tag, so the store also works on Redis Cluster.
 */
export async function createRedisLimitStore(options: RedisStoreOptions): Promise<LimitStore> {
  const prefix = options.prefix ?? "hallmark:";
  const redis = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: true,
  }) as ScriptedRedis;
  // Reconnection errors are reported by the failing requests (503), not as unhandled events.
  redis.on("error", () => {});
  redis.defineCommand("hmTake", { numberOfKeys: 1, lua: TAKE });
  redis.defineCommand("hmReserve", { numberOfKeys: 2, lua: RESERVE });
  redis.defineCommand("hmRelease", { numberOfKeys: 2, lua: RELEASE });
  // A Redis that is down at start does not stop the gateway: requests get 503 until it is back.
  await redis.connect().catch(() => {});

  const quotaKeys = (tenantId: string, periods: Periods) => [
    `${prefix}q:{${tenantId}}:day:${periods.day}`,
    `${prefix}q:{${tenantId}}:month:${periods.month}`,
  ];

  return {
    kind: "redis",

    async take(key: string, rule: RateRule): Promise<RateState> {
      const [allowed, tat, now] = await redis.hmTake(
        `${prefix}rl:${key}`,
        String(intervalMs(rule)),
        String(limitMs(rule)),
      );
      return { allowed: allowed === 1, tatMs: Number(tat), nowMs: Number(now) };
    },

    async reserve(tenantId: string, n: number, rule: QuotaRule): Promise<ReserveResult> {
      const periods = periodsAt(Date.now());
      const [day, month] = quotaKeys(tenantId, periods);
      const [ok, refused, d, m] = await redis.hmReserve(
        day!,
        month!,
        n,
        rule.imagesPerDay > 0 ? rule.imagesPerDay : -1,
        rule.imagesPerMonth > 0 ? rule.imagesPerMonth : -1,
        periods.dayResetSeconds + KEEP_SECONDS,
        periods.monthResetSeconds + KEEP_SECONDS,
      );
      const used = { day: Number(d), month: Number(m) };
      if (ok === 1) {
        const reservation: Reservation = { tenantId, n, periods, used };
        return { ok: true, reservation };
      }
      return { ok: false, period: refused === 1 ? "day" : "month", periods, used };
    },

    async release(reservation: Reservation): Promise<void> {
      const [day, month] = quotaKeys(reservation.tenantId, reservation.periods);
      await redis.hmRelease(day!, month!, reservation.n);
    },

    async used(tenantId: string) {
      const periods = periodsAt(Date.now());
      const [d, m] = await redis.mget(...quotaKeys(tenantId, periods));
      return { periods, used: { day: Number(d ?? 0), month: Number(m ?? 0) } };
    },

    close: async () => {
      redis.disconnect();
    },
  };
}
