import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { intervalMs, limitMs } from "./gcra.js";
import { periodsAt } from "./periods.js";
import type {
  Hold,
  LimitStore,
  Periods,
  QuotaRule,
  RateRule,
  RateState,
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
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  local hold = redis.call('HGET', KEYS[4], id)
  if hold then
    local hn, dk, mk = string.match(hold, '^(%d+)|([^|]+)|([^|]+)$')
    for _, k in ipairs({dk, mk}) do
      local v = tonumber(redis.call('GET', k) or '-1')
      if v >= 0 then redis.call('SET', k, math.max(0, v - tonumber(hn)), 'KEEPTTL') end
    end
  end
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end
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
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[7]), ARGV[6])
redis.call('HSET', KEYS[4], ARGV[6], n .. '|' .. KEYS[1] .. '|' .. KEYS[2])
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('EXPIRE', KEYS[4], ARGV[5])
return {1, 0, d, m}
`;

/**
 * Gives n back to both counters (KEYS[1], KEYS[2]), never below 0 and never to a counter that
 * has expired; only if the hold ARGV[2] still stands (KEYS[3], KEYS[4]): one reclaimed on
 * expiry already was.
 */
const RELEASE = `
if redis.call('ZREM', KEYS[3], ARGV[2]) == 0 then return 0 end
redis.call('HDEL', KEYS[4], ARGV[2])
for _, k in ipairs({KEYS[1], KEYS[2]}) do
  local v = tonumber(redis.call('GET', k) or '-1')
  if v >= 0 then redis.call('SET', k, math.max(0, v - tonumber(ARGV[1])), 'KEEPTTL') end
end
return 1
`;

/**
 * Makes the hold ARGV[2] use; if it was reclaimed on expiry meanwhile, counts its n images again
 * (delivered images are always counted), keeping each counter's expiry or setting ARGV[3]/[4].
 */
const COMMIT = `
if redis.call('ZREM', KEYS[3], ARGV[2]) == 1 then
  redis.call('HDEL', KEYS[4], ARGV[2])
  return 1
end
for i, k in ipairs({KEYS[1], KEYS[2]}) do
  redis.call('INCRBY', k, tonumber(ARGV[1]))
  if redis.call('TTL', k) < 0 then redis.call('EXPIRE', k, ARGV[2 + i]) end
end
return 0
`;

/** Not a UUID, so never the id of a hold. */
const NO_HOLD = "none";

/** Counters outlive their period by two days, for late releases. */
const KEEP_SECONDS = 2 * 86_400;

type ScriptedRedis = Redis & {
  hmTake(key: string, i: string, limit: string): Promise<[number, string, string]>;
  hmReserve(
    day: string,
    month: string,
    held: string,
    holds: string,
    n: number,
    dayLimit: number,
    monthLimit: number,
    dayTtl: number,
    monthTtl: number,
    id: string,
    holdMs: number,
  ): Promise<[number, number, number, number]>;
  hmRelease(
    day: string,
    month: string,
    held: string,
    holds: string,
    n: number,
    id: string,
  ): Promise<number>;
  hmCommit(
    day: string,
    month: string,
    held: string,
    holds: string,
    n: number,
    id: string,
    dayTtl: number,
    monthTtl: number,
  ): Promise<number>;
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
  redis.defineCommand("hmReserve", { numberOfKeys: 4, lua: RESERVE });
  redis.defineCommand("hmRelease", { numberOfKeys: 4, lua: RELEASE });
  redis.defineCommand("hmCommit", { numberOfKeys: 4, lua: COMMIT });
  // A Redis that is down at start does not stop the gateway: requests get 503 until it is back.
  await redis.connect().catch(() => {});

  const quotaKeys = (tenantId: string, periods: Periods) => [
    `${prefix}q:{${tenantId}}:day:${periods.day}`,
    `${prefix}q:{${tenantId}}:month:${periods.month}`,
  ];
  // A tenant's holds: ids by expiry (sorted set) and each one's "n|day key|month key" (hash).
  // Same hash tag as its counters, so a script that reaches a hold's counters stays in one slot.
  const holdKeys = (tenantId: string) => [
    `${prefix}q:{${tenantId}}:held`,
    `${prefix}q:{${tenantId}}:holds`,
  ];

  const commitScript = async (tenantId: string, n: number, id: string, periods: Periods) => {
    const [day, month] = quotaKeys(tenantId, periods);
    const [held, holds] = holdKeys(tenantId);
    await redis.hmCommit(
      day!,
      month!,
      held!,
      holds!,
      n,
      id,
      periods.dayResetSeconds + KEEP_SECONDS,
      periods.monthResetSeconds + KEEP_SECONDS,
    );
  };

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

    async reserve(
      tenantId: string,
      n: number,
      rule: QuotaRule,
      holdMs: number,
    ): Promise<ReserveResult> {
      const periods = periodsAt(Date.now());
      const [day, month] = quotaKeys(tenantId, periods);
      const [held, holds] = holdKeys(tenantId);
      const id = randomUUID();
      const [ok, refused, d, m] = await redis.hmReserve(
        day!,
        month!,
        held!,
        holds!,
        n,
        rule.imagesPerDay > 0 ? rule.imagesPerDay : -1,
        rule.imagesPerMonth > 0 ? rule.imagesPerMonth : -1,
        periods.dayResetSeconds + KEEP_SECONDS,
        periods.monthResetSeconds + KEEP_SECONDS,
        id,
        holdMs,
      );
      const used = { day: Number(d), month: Number(m) };
      if (ok === 1) {
        const reservation: Hold = { id, tenantId, n, periods, used };
        return { ok: true, reservation };
      }
      return { ok: false, period: refused === 1 ? "day" : "month", periods, used };
    },

    async release(reservation: Hold): Promise<void> {
      const [day, month] = quotaKeys(reservation.tenantId, reservation.periods);
      const [held, holds] = holdKeys(reservation.tenantId);
      await redis.hmRelease(day!, month!, held!, holds!, reservation.n, reservation.id);
    },

    async commit(reservation: Hold): Promise<void> {
      await commitScript(reservation.tenantId, reservation.n, reservation.id, reservation.periods);
    },

    async count(tenantId: string, n: number): Promise<void> {
      // The commit script with an id that is never held: it finds no hold and counts the images.
      await commitScript(tenantId, n, NO_HOLD, periodsAt(Date.now()));
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
