/**
 * Tenant policies and tenant declarations (src/policy/tenant-store.ts, docs/policies.md).
 *
 * `tenant_policy_versions` is append-only (a trigger written in the `policy_versions_append_only`
 * migration refuses UPDATE, DELETE and TRUNCATE): every change of a tenant's policy is a new
 * version with its author, time, comment and the SHA-256 of the canonical merged policy, so the
 * policy that decided any past request can be named and rebuilt.
 *
 * `tenant_settings` holds what a tenant declares for the licence audit (commercial or not, annual
 * revenue, the terms under which it receives outputs); `revision` grows on every change so that
 * replicas can tell cheaply that their cached copy is stale.
 */
import {
  bigint,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { tenants } from "./schema.js";

export const tenantPolicyVersions = pgTable(
  "tenant_policy_versions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** 1, 2, 3, … per tenant, no gaps. */
    version: integer("version").notNull(),
    /** The base policy's id (a file in the policies folder). */
    base: text("base").notNull(),
    /** SHA-256 of the base policy as it was when this version was set. */
    baseHash: text("base_hash").notNull(),
    /** The partial policy (validated, then stored as JSON); `{}` reverts to the base. */
    override: jsonb("override").notNull(),
    /** The override's text as submitted (YAML or JSON), for people reading the history. */
    source: text("source").notNull(),
    /** SHA-256 of the canonical (RFC 8785) JSON of the merged policy. */
    hash: text("hash").notNull(),
    author: text("author").notNull(),
    comment: text("comment").notNull().default(""),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("tenant_policy_versions_tenant_version_idx").on(t.tenantId, t.version)],
);

export const tenantSettings = pgTable("tenant_settings", {
  tenantId: uuid("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  /** commercial | non-commercial */
  use: text("use").notNull(),
  /** Declared annual revenue in USD (licences with a revenue threshold); null: not declared. */
  annualRevenueUsd: bigint("annual_revenue_usd", { mode: "number" }),
  /** The terms under which the tenant receives outputs, e.g. "royalty-free standard licence". */
  outputTerms: text("output_terms"),
  /** Grows by one on every change (cache invalidation across replicas). */
  revision: integer("revision").notNull().default(1),
  updatedBy: text("updated_by").notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});
