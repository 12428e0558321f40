import { randomUUID } from "node:crypto";
import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { intervalMs, limitMs } from "./gcra.js";
import { periodsAt } from "./periods.js";
import { resultRows } from "./sql-rows.js";
import type {
  Hold,
  LimitStore,
  Periods,
  QuotaRule,
  RateRule,
  RateState,
  ReserveResult,
} from "./types.js";

/** A quota of 0 means none; the counters still count, so a quota set mid-month starts right. */
const UNLIMITED = 2_147_483_647;

/** Thrown inside the reservation transaction to roll it back when a quota would be exceeded. */
class QuotaRefused extends Error {
  constructor(readonly period: "day" | "month") {
    super(period);
  }
}

/**
 * The limiter state in the database every replica already shares. The GCRA step is one
 * INSERT … ON CONFLICT DO UPDATE … RETURNING: PostgreSQL locks the key's row for the update and
 * re-evaluates the expressions on the latest committed TAT, so concurrent requests from any
 * replica are serialised per key. Time is the database's (`now()` of the statement), so replica
 * clocks do not matter.
 */
export function createPostgresLimitStore(db: Db): LimitStore {
  return {
    kind: "postgres",

    async take(key: string, rule: RateRule): Promise<RateState> {
      const i = intervalMs(rule);
      const limit = limitMs(rule);
      // The decision uses the statement's now(), once; the remaining tokens it reports are
      // measured at clock_timestamp(), after the row lock. A statement that waited for another's
      // lock started before it: measured from its own start it reported one token fewer than
      // it had (two concurrent requests both told "r=3", none "r=4").
      const rows = resultRows(
        await db.execute(sql`
          insert into rate_limit_state as s (key, tat_ms, allowed)
          values (${key}, extract(epoch from now())::float8 * 1000 + ${i}::float8, ${i}::float8 <= ${limit}::float8)
          on conflict (key) do update set
            tat_ms = case
              when greatest(s.tat_ms + ${i}::float8, excluded.tat_ms)
                   - (excluded.tat_ms - ${i}::float8) <= ${limit}::float8
              then greatest(s.tat_ms + ${i}::float8, excluded.tat_ms)
              else s.tat_ms end,
            allowed = greatest(s.tat_ms + ${i}::float8, excluded.tat_ms)
                      - (excluded.tat_ms - ${i}::float8) <= ${limit}::float8
          returning tat_ms, allowed, extract(epoch from clock_timestamp())::float8 * 1000 as now_ms`),
      );
      const row = rows[0]!;
      return {
        allowed: row.allowed === true || row.allowed === "t",
        tatMs: Number(row.tat_ms),
        nowMs: Number(row.now_ms),
      };
    },

    async reserve(
      tenantId: string,
      n: number,
      rule: QuotaRule,
      holdMs: number,
    ): Promise<ReserveResult> {
      const dayLimit = rule.imagesPerDay > 0 ? rule.imagesPerDay : UNLIMITED;
      const monthLimit = rule.imagesPerMonth > 0 ? rule.imagesPerMonth : UNLIMITED;
      let periods: Periods | undefined;
      try {
        // Day row first, then month row, in every transaction (reserve and release alike), so
        // two requests of one tenant cannot deadlock; each waits on the other's row lock and
        // then sees its committed count.
        return await db.transaction(async (tx) => {
          const t = tx as unknown as Db;
          await reclaimExpired(t, tenantId);
          // The periods are the transaction's now() in UTC, the same for both statements.
          const day = await add(t, tenantId, "day", n, dayLimit);
          if (day === null) {
            periods = periodsAt(await databaseNow(t));
            throw new QuotaRefused("day");
          }
          periods = periodsAt(day.nowMs);
          const month = await add(t, tenantId, "month", n, monthLimit);
          if (month === null) throw new QuotaRefused("month");
          const id = randomUUID();
          await t.execute(sql`
            insert into quota_reservations (id, tenant_id, n, day, month, expires_at)
            values (${id}::uuid, ${tenantId}::uuid, ${n}::int, ${periods.day}::date,
              ${periods.month}::date, now() + ${holdMs}::int * interval '1 millisecond')`);
          const reservation: Hold = {
            id,
            tenantId,
            n,
            periods,
            used: { day: day.used, month: month.used },
          };
          return { ok: true as const, reservation };
        });
      } catch (error) {
        if (!(error instanceof QuotaRefused) || !periods) throw error;
        const used = await counts(db, tenantId, periods);
        return { ok: false, period: error.period, periods, used };
      }
    },

    async release(reservation: Hold): Promise<void> {
      const { id, tenantId, n, periods } = reservation;
      await db.transaction(async (tx) => {
        // Only a hold still standing is given back: one reclaimed on expiry already was.
        if (!(await dropHold(tx as unknown as Db, id))) return;
        await subtract(tx as unknown as Db, tenantId, n, periods.day, periods.month);
      });
    },

    async commit(reservation: Hold): Promise<void> {
      const { id, tenantId, n, periods } = reservation;
      await db.transaction(async (tx) => {
        const t = tx as unknown as Db;
        if (await dropHold(t, id)) return;
        // Reclaimed on expiry while the request was still delivering: count the images again.
        await addDelivered(t, tenantId, n, sql`${periods.day}::date`, sql`${periods.month}::date`);
      });
    },

    async count(tenantId: string, n: number): Promise<void> {
      await addDelivered(db, tenantId, n, DAY_NOW, MONTH_NOW);
    },

    async used(tenantId: string) {
      const periods = periodsAt(await databaseNow(db));
      return { periods, used: await counts(db, tenantId, periods) };
    },

    close: async () => {},
  };
}

const DAY_NOW = sql`(now() at time zone 'UTC')::date`;
const MONTH_NOW = sql`date_trunc('month', now() at time zone 'UTC')::date`;

/**
 * Adds n delivered images to one day's and one month's counters, with no limit: one statement,
 * so atomic without a transaction (rows upserted day first, the order every transaction here
 * locks them in).
 */
async function addDelivered(db: Db, tenantId: string, n: number, day: SQL, month: SQL) {
  await db.execute(sql`
    insert into quota_counters as q (tenant_id, period, period_start, used)
    values (${tenantId}::uuid, 'day', ${day}, ${n}::int),
      (${tenantId}::uuid, 'month', ${month}, ${n}::int)
    on conflict (tenant_id, period, period_start) do update set used = q.used + excluded.used`);
}

/** Deletes a hold; whether it was still there. */
async function dropHold(db: Db, id: string): Promise<boolean> {
  const rows = resultRows(
    await db.execute(sql`delete from quota_reservations where id = ${id}::uuid returning id`),
  );
  return rows.length > 0;
}

/** Takes n off a tenant's counters of one day and one month (day row first: see reserve). */
async function subtract(db: Db, tenantId: string, n: number, day: string, month: string) {
  for (const [period, start] of [
    ["day", day],
    ["month", month],
  ] as const) {
    await db.execute(sql`
      update quota_counters set used = greatest(0, used - ${n}::int)
      where tenant_id = ${tenantId}::uuid and period = ${period} and period_start = ${start}::date`);
  }
}

/** Gives back the tenant's holds past their expiry (their replica never settled them). */
async function reclaimExpired(db: Db, tenantId: string): Promise<void> {
  const expired = resultRows(
    await db.execute(sql`
      delete from quota_reservations where tenant_id = ${tenantId}::uuid and expires_at < now()
      returning n, day::text as day, month::text as month`),
  );
  for (const r of expired) {
    await subtract(db, tenantId, Number(r.n), String(r.day), String(r.month));
  }
}

async function databaseNow(db: Db): Promise<number> {
  const rows = resultRows(
    await db.execute(sql`select extract(epoch from now())::float8 * 1000 as now_ms`),
  );
  return Number(rows[0]!.now_ms);
}

/**
 * Adds n to the counter of the current UTC day or month (of the transaction's now()) when it
 * stays within limit; null when it would not (nothing changed).
 */
async function add(
  db: Db,
  tenantId: string,
  period: "day" | "month",
  n: number,
  limit: number,
): Promise<{ used: number; nowMs: number } | null> {
  const start = period === "day" ? DAY_NOW : MONTH_NOW;
  const rows = resultRows(
    await db.execute(sql`
      insert into quota_counters as q (tenant_id, period, period_start, used)
      select ${tenantId}::uuid, ${period}, ${start}, ${n}::int where ${n}::int <= ${limit}::int
      on conflict (tenant_id, period, period_start) do update set used = q.used + excluded.used
      where q.used + excluded.used <= ${limit}::int
      returning used, extract(epoch from now())::float8 * 1000 as now_ms`),
  );
  return rows.length === 0 ? null : { used: Number(rows[0]!.used), nowMs: Number(rows[0]!.now_ms) };
}

async function counts(
  db: Db,
  tenantId: string,
  periods: Periods,
): Promise<{ day: number; month: number }> {
  const rows = resultRows(
    await db.execute(sql`
      select period, used from quota_counters
      where tenant_id = ${tenantId}::uuid
        and ((period = 'day' and period_start = ${periods.day}::date)
          or (period = 'month' and period_start = ${periods.month}::date))`),
  );
  const of = (p: string) => Number(rows.find((r) => r.period === p)?.used ?? 0);
  return { day: of("day"), month: of("month") };
}
