/**
 * Rate limits and image quotas (src/limits): per-tenant overrides of the configured defaults, the
 * shared rate-limiter state and the quota counters every replica reads and writes. The limiter
 * state lives here only with the PostgreSQL store; with HALLMARK_REDIS_URL it lives in Redis
 * (the overrides stay here either way). Usage reports are derived from `generations` and
 * `images`, not from these tables (docs/limits.md).
 */
import {
  boolean,
  date,
  doublePrecision,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";
import { tenants } from "./schema.js";

/**
 * A tenant's own limits. A null column means "the configured default"; 0 means "no limit". Set
 * with `hallmark tenant limits <name> …`.
 */
export const tenantLimits = pgTable("tenant_limits", {
  tenantId: uuid("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  /** Sustained requests per second (GCRA emission rate). */
  rps: doublePrecision("rps"),
  /** Requests allowed at once on a full bucket. */
  burst: integer("burst"),
  imagesPerDay: integer("images_per_day"),
  imagesPerMonth: integer("images_per_month"),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * GCRA state: one row per limited key (`t:<tenant id>`). `tat_ms` is the theoretical arrival
 * time in milliseconds of the database clock; `allowed` is the verdict of the last request, so
 * one upsert both decides and reports.
 */
export const rateLimitState = pgTable("rate_limit_state", {
  key: text("key").primaryKey(),
  tatMs: doublePrecision("tat_ms").notNull(),
  allowed: boolean("allowed").notNull(),
});

/**
 * Images reserved or delivered per tenant per UTC day and per UTC month. A reservation adds to
 * both rows in one transaction, under the rows' locks, only when both stay within the quota; a
 * failed or refused request subtracts it again.
 */
/**
 * Holds of images not yet delivered nor given back, so that a replica that dies between the two
 * does not keep the tenant's images counted: a hold past `expires_at` is given back (its `n`
 * subtracted from the counters of its `day` and `month`) on the tenant's next reservation.
 */
export const quotaReservations = pgTable(
  "quota_reservations",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    n: integer("n").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    month: date("month", { mode: "string" }).notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("quota_reservations_tenant_expiry").on(t.tenantId, t.expiresAt)],
);

export const quotaCounters = pgTable(
  "quota_counters",
  {
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** day | month */
    period: text("period").notNull(),
    /** The UTC date the period starts on (the 1st for months). */
    periodStart: date("period_start", { mode: "string" }).notNull(),
    used: integer("used").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.period, t.periodStart] })],
);
