/**
 * Idempotency keys, delivered-later generations (asynchronous jobs and review holds) and the
 * encrypted store of their output images (src/jobs, src/outputs, src/http/middleware). Formats
 * and lifetimes: docs/async.md.
 */
import {
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";
import { apiKeys, generations, tenants } from "./schema.js";

/** PostgreSQL bytea as a Node Buffer (drizzle has no built-in bytea column). */
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
});

/**
 * One row per (tenant, Idempotency-Key) (draft-ietf-httpapi-idempotency-key-header). The key is
 * stored as its SHA-256; `request_hash` fingerprints the route and the canonical body. The first
 * request inserts the row `in_progress` (INSERT … ON CONFLICT DO NOTHING decides between
 * replicas); it becomes `completed` with the response to replay. Image bytes are never stored
 * here: a replay re-reads them from generation_outputs by generation id.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** hex SHA-256 of the Idempotency-Key header value. */
    keyHash: text("key_hash").notNull(),
    /** hex SHA-256 of method, path and the RFC 8785 canonical JSON body. */
    requestHash: text("request_hash").notNull(),
    /** in_progress | completed */
    state: text("state").notNull(),
    /** When the request now holding the key started; an older in-progress row may be taken over. */
    lockedAt: timestamp("locked_at", { withTimezone: true }).notNull().defaultNow(),
    generationId: uuid("generation_id"),
    /** { status, headers, body } of the first response, without image bytes. */
    response: jsonb("response"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.keyHash] }),
    index("idempotency_keys_expires_idx").on(t.expiresAt),
  ],
);

/**
 * A generation whose images are delivered later: `async` (queued for `hallmark worker`, pg-boss
 * job id = this id) or `hold` (held for review). The id is the generation id the audit records.
 * The request (prompt included) is sealed with the output key and cleared once recorded.
 */
export const generationJobs = pgTable(
  "generation_jobs",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    apiKeyId: uuid("api_key_id").references(() => apiKeys.id),
    /** async | hold */
    mode: text("mode").notNull(),
    /** queued | running | recorded | failed (the outcome itself is the generations row). */
    state: text("state").notNull(),
    /** AES-256-GCM sealed JSON of the pipeline request; null once recorded. */
    request: bytea("request"),
    /** Where to POST the outcome (validated against the SSRF rules when accepted and when sent). */
    webhookUrl: text("webhook_url"),
    /** null (no webhook) | pending | sent | failed */
    webhookState: text("webhook_state"),
    /** Why a job failed before the pipeline could record it (e.g. its request could not be read). */
    errorCode: text("error_code"),
    attempts: integer("attempts").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("generation_jobs_tenant_created_idx").on(t.tenantId, t.createdAt),
    index("generation_jobs_state_idx").on(t.state),
  ],
);

/**
 * Output images kept for later delivery (async results, review holds, idempotent replays),
 * sealed with AES-256-GCM (iv ‖ ciphertext ‖ tag, additional data: generation id and index).
 * Written in the transaction that records the generation; deleted after `expires_at`.
 */
export const generationOutputs = pgTable(
  "generation_outputs",
  {
    generationId: uuid("generation_id")
      .notNull()
      .references(() => generations.id),
    index: integer("index").notNull(),
    mediaType: text("media_type").notNull(),
    /** Fingerprint of the key that sealed it (first 16 hex digits of its SHA-256). */
    keyId: text("key_id").notNull(),
    sealed: bytea("sealed").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.generationId, t.index] }),
    index("generation_outputs_expires_idx").on(t.expiresAt),
  ],
);
