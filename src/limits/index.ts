/**
 * Rate limits (GCRA per tenant), image quotas (per UTC day and month) and usage reports, with
 * their state shared by every replica through PostgreSQL or Redis (docs/limits.md).
 */
export { decide, intervalMs, step } from "./gcra.js";
export { createLimits, type Limits, type LimitsOptions, type QuotaStatus } from "./limits.js";
export { periodsAt } from "./periods.js";
export { createPostgresLimitStore } from "./postgres-store.js";
export { createRedisLimitStore, type RedisStoreOptions } from "./redis-store.js";
export {
  effectiveLimits,
  getTenantLimits,
  listTenantLimits,
  MAX_COUNT,
  MAX_RPS,
  NO_OVERRIDES,
  setTenantLimits,
  type TenantLimitOverrides,
} from "./tenant-limits.js";
export type {
  EffectiveLimits,
  LimitStore,
  Periods,
  QuotaPeriod,
  QuotaRule,
  RateDecision,
  RateRule,
  RateState,
  Reservation,
  ReserveResult,
} from "./types.js";
export {
  MAX_USAGE_DAYS,
  queryUsage,
  type UsageQuery,
  type UsageRow,
  usageCsv,
  usageRange,
} from "./usage.js";
