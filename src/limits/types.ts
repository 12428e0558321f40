/** A request-rate limit: a GCRA (a token bucket without a timer) of `rps` with room for `burst`. */
export interface RateRule {
  /** Sustained requests per second; 0: no rate limit. */
  rps: number;
  /** Requests allowed at once on a full bucket (at least 1). */
  burst: number;
}

/** Image quotas per UTC day and per UTC month; 0: no quota. */
export interface QuotaRule {
  imagesPerDay: number;
  imagesPerMonth: number;
}

/** A tenant's limits in force: the configured defaults with its overrides applied. */
export interface EffectiveLimits {
  rate: RateRule;
  quota: QuotaRule;
}

/** What the shared store answers for one request against a rate rule. */
export interface RateState {
  allowed: boolean;
  /** The theoretical arrival time after this request (ms, on the store's clock). */
  tatMs: number;
  /** The store's clock when it decided (ms). */
  nowMs: number;
}

/** The verdict of the rate limiter, with what the RateLimit header fields report. */
export interface RateDecision {
  allowed: boolean;
  rule: RateRule;
  /** Requests that could be made at once now (0 when refused). */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until a request would be allowed (0 when allowed). */
  retryAfterSeconds: number;
}

export type QuotaPeriod = "day" | "month";

/** The UTC day and month a reservation counts against, and when each ends. */
export interface Periods {
  day: string;
  month: string;
  dayResetSeconds: number;
  monthResetSeconds: number;
}

/**
 * Images held against a tenant's quotas: committed when the request delivers them, released
 * when it does not. A hold that is neither by its expiry (the replica that made it died) is
 * given back by the store, on that tenant's next reservation.
 * A tenant with no quota gets no hold (`id` null, `used` null: the store was not asked, there
 * being nothing to check); its delivered images are counted on commit all the same.
 */
export interface Reservation {
  /** The hold's id in the store; null when nothing is held (the tenant has no quota). */
  id: string | null;
  tenantId: string;
  n: number;
  periods: Periods;
  /** Images used in the period after this reservation; null when the store was not asked. */
  used: { day: number; month: number } | null;
}

/** A hold the store made (every reservation it returns has an id and its counts). */
export type Hold = Reservation & { id: string; used: { day: number; month: number } };

export type ReserveResult =
  | { ok: true; reservation: Hold }
  | {
      ok: false;
      period: QuotaPeriod;
      periods: Periods;
      used: { day: number; month: number };
    };

/**
 * The state every replica shares: PostgreSQL (atomic upserts) or Redis (Lua scripts). Each
 * operation is one atomic step on the store, so concurrent replicas never over-admit.
 */
export interface LimitStore {
  readonly kind: "postgres" | "redis";
  /** Counts one request against `key` under `rule` (rps > 0) and says whether it may pass. */
  take(key: string, rule: RateRule): Promise<RateState>;
  /**
   * Adds `n` images to the tenant's day and month counters only if both stay within `rule`, as
   * a hold that expires after `holdMs`. First gives back the tenant's expired holds.
   */
  reserve(tenantId: string, n: number, rule: QuotaRule, holdMs: number): Promise<ReserveResult>;
  /** Gives a hold back (the request delivered nothing); nothing if it was already given back. */
  release(reservation: Hold): Promise<void>;
  /**
   * Makes a hold use (the images were delivered). A hold already given back on expiry is
   * counted again, over the quota if need be: delivered images are always counted.
   */
  commit(reservation: Hold): Promise<void>;
  /**
   * Adds `n` delivered images to the tenant's current UTC day and month counters, with no hold
   * and no limit to check (the tenant has no quota; the counters count all the same, so a quota
   * set later in the month starts from the true figure).
   */
  count(tenantId: string, n: number): Promise<void>;
  /** Images used by a tenant in the current day and month. */
  used(tenantId: string): Promise<{ periods: Periods; used: { day: number; month: number } }>;
  close(): Promise<void>;
}
