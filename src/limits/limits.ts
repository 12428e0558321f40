import type { Db } from "../db/index.js";
import { isConnectionError } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import { decide } from "./gcra.js";
import { periodsAt } from "./periods.js";
import { effectiveLimits, getTenantLimits } from "./tenant-limits.js";
import type {
  EffectiveLimits,
  Hold,
  LimitStore,
  Periods,
  RateDecision,
  RateRule,
  Reservation,
  ReserveResult,
} from "./types.js";

export interface LimitsOptions {
  db: Db;
  store: LimitStore;
  /** The configured defaults (HALLMARK_RATE_LIMIT_*, HALLMARK_QUOTA_*). */
  defaults: EffectiveLimits;
  /** How long a replica keeps a tenant's overrides before reading them again (0: every request). */
  cacheMs: number;
  /** A further rate limit per API key, within its tenant's (HALLMARK_RATE_LIMIT_KEY_*). */
  perKey?: RateRule;
  /**
   * How long a reservation stands unsettled before the store gives it back (its replica is
   * presumed dead): longer than any request may hold one (HALLMARK_QUOTA_HOLD_SECONDS).
   */
  holdMs?: number;
}

/** Default hold: well past the default request time-out (180 s). */
export const DEFAULT_QUOTA_HOLD_MS = 900_000;

/** The quota state reported with a reservation or a refusal. */
export interface QuotaStatus {
  limits: EffectiveLimits["quota"];
  /** Null when the tenant has no quota: the store was not asked. */
  used: { day: number; month: number } | null;
  periods: Periods;
}

/** A reservation (a hold, or none where there is no quota) or a refusal, with the quota state. */
export type ImageReservation = (
  | { ok: true; reservation: Reservation }
  | Extract<ReserveResult, { ok: false }>
) & { quota: QuotaStatus };

/** Rate limits and image quotas per tenant, over a store every replica shares. */
export interface Limits {
  readonly storeKind: LimitStore["kind"];
  /** The tenant's limits in force (defaults with its overrides), cached for `cacheMs`. */
  limitsFor(tenantId: string): Promise<EffectiveLimits>;
  /** Counts one request; null when the tenant has no rate limit. Never throws a 429 itself. */
  checkRate(tenantId: string): Promise<RateDecision | null>;
  /** Counts one request of one key; null when there is no per-key limit. */
  checkKeyRate(apiKeyId: string): Promise<RateDecision | null>;
  /**
   * Holds n images against the tenant's day and month quotas, atomically across replicas.
   * Refusals come back as `ok: false` (the caller answers 429 with the headers). A tenant with
   * no quota gets a reservation without a hold, at no cost to the store: its images are counted
   * when committed.
   */
  reserveImages(tenantId: string, n: number): Promise<ImageReservation>;
  /** Gives back images that were not delivered (failure, refusal, bad request). */
  release(reservation: Reservation): Promise<void>;
  /** Counts held images as used: the request delivered them (or accepted them as a job). */
  commit(reservation: Reservation): Promise<void>;
  /**
   * Commits (keep) or releases a reservation after the answer has gone, without holding the
   * answer back for the store's round trip (measured: about 3 ms of every image request on the
   * embedded database). This replica's next reservation and usage read for the tenant wait for
   * it, so they never see the counts as they were before it; `close` waits for all. A failure
   * goes to `onError`: the hold then expires and is given back, as when a replica dies.
   */
  settleLater(reservation: Reservation, keep: boolean, onError: (error: unknown) => void): void;
  /** Resolves once every settlement started by `settleLater` has finished. */
  settled(): Promise<void>;
  /** Images the tenant has used in the current UTC day and month. */
  quotaUsed(tenantId: string): Promise<{ periods: Periods; used: { day: number; month: number } }>;
  /** Waits for the settlements under way, then closes the store. */
  close(): Promise<void>;
}

const MAX_CACHED_TENANTS = 10_000;

/**
 * The limiter: tenant overrides from the database (briefly cached per replica), state in the
 * shared store. Any store failure is a 503 (`database_unavailable`): without its counts the
 * limiter cannot tell whether a request is within its limits, so it fails closed.
 */
export function createLimits(options: LimitsOptions): Limits {
  const { db, store, defaults, cacheMs } = options;
  const holdMs = options.holdMs ?? DEFAULT_QUOTA_HOLD_MS;
  const cache = new Map<string, { limits: EffectiveLimits; until: number }>();
  // Settlements under way, by tenant (settleLater).
  const settling = new Map<string, Set<Promise<void>>>();
  const settledFor = async (tenantId: string) => {
    const under = settling.get(tenantId);
    if (under) await Promise.all(under);
  };

  const guarded = async <T>(what: "overrides" | "store", operation: () => Promise<T>) => {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof HallmarkError) throw error;
      if (what === "store" && store.kind === "redis") {
        throw new HallmarkError(
          "database_unavailable",
          "The rate-limit store (Redis) is unavailable; nothing was produced.",
          { cause: error },
        );
      }
      if (isConnectionError(error)) {
        throw new HallmarkError(
          "database_unavailable",
          "The database is unavailable; nothing was produced.",
          { cause: error },
        );
      }
      throw error;
    }
  };

  const limitsFor = async (tenantId: string): Promise<EffectiveLimits> => {
    const now = Date.now();
    const hit = cache.get(tenantId);
    if (hit && hit.until > now) return hit.limits;
    const overrides = await guarded("overrides", () => getTenantLimits(db, tenantId));
    const limits = effectiveLimits(defaults, overrides);
    if (cacheMs > 0) {
      if (cache.size >= MAX_CACHED_TENANTS) cache.clear();
      cache.set(tenantId, { limits, until: now + cacheMs });
    }
    return limits;
  };

  const settledAll = async () => {
    await Promise.all([...settling.values()].flatMap((under) => [...under]));
  };
  const release = async (reservation: Reservation) => {
    if (isHold(reservation)) await guarded("store", () => store.release(reservation));
  };
  const commit = (reservation: Reservation) =>
    guarded("store", () =>
      isHold(reservation)
        ? store.commit(reservation)
        : store.count(reservation.tenantId, reservation.n),
    );

  return {
    storeKind: store.kind,
    limitsFor,

    async checkRate(tenantId) {
      const { rate } = await limitsFor(tenantId);
      if (!(rate.rps > 0)) return null;
      const state = await guarded("store", () => store.take(`t:${tenantId}`, rate));
      return decide(state, rate);
    },

    async checkKeyRate(apiKeyId) {
      const rule = options.perKey;
      if (!rule || !(rule.rps > 0)) return null;
      const state = await guarded("store", () => store.take(`k:${apiKeyId}`, rule));
      return decide(state, rule);
    },

    async reserveImages(tenantId, n) {
      const { quota } = await limitsFor(tenantId);
      if (!(quota.imagesPerDay > 0) && !(quota.imagesPerMonth > 0)) {
        // Nothing to check, so nothing to hold (a hold is a transaction of four statements on
        // PostgreSQL, on every image request's path); the commit counts what was delivered.
        const periods = periodsAt(Date.now());
        const reservation: Reservation = { id: null, tenantId, n, periods, used: null };
        return { ok: true, reservation, quota: { limits: quota, used: null, periods } };
      }
      // Admission reads the counts: this replica's settlements under way for the tenant first.
      await settledFor(tenantId);
      const result = await guarded("store", () => store.reserve(tenantId, n, quota, holdMs));
      const periods = result.ok ? result.reservation.periods : result.periods;
      const used = result.ok ? result.reservation.used : result.used;
      return { ...result, quota: { limits: quota, used, periods } };
    },

    release,
    commit,

    settleLater(reservation, keep, onError) {
      const { tenantId } = reservation;
      const under = settling.get(tenantId) ?? new Set<Promise<void>>();
      settling.set(tenantId, under);
      const done: Promise<void> = (keep ? commit(reservation) : release(reservation))
        .catch((error: unknown) => {
          // Nobody awaits this: a throwing handler must not become an unhandled rejection.
          try {
            onError(error);
          } catch {}
        })
        .finally(() => {
          under.delete(done);
          if (under.size === 0 && settling.get(tenantId) === under) settling.delete(tenantId);
        });
      under.add(done);
    },

    settled: settledAll,

    async quotaUsed(tenantId) {
      await settledFor(tenantId);
      return guarded("store", () => store.used(tenantId));
    },

    async close() {
      await settledAll();
      await store.close();
    },
  };
}

const isHold = (reservation: Reservation): reservation is Hold => reservation.id !== null;
