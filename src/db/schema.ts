/**
 * The drizzle schema: the single source for migrations (drizzle-kit generate → migrations/) and
 * for typed queries. The same schema and migrations serve PGlite and PostgreSQL.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/** PostgreSQL bytea as a Node Buffer (drizzle has no built-in bytea column). */
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
});

export const tenants = pgTable("tenants", {
  id: uuid("id").primaryKey().defaultRandom(),
  name: text("name").notNull().unique(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** API keys are stored as the SHA-256 of the key (keys are 256-bit random, so no salt/KDF). */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** hex SHA-256 of the whole key string. */
    keyHash: text("key_hash").notNull(),
    /** The first characters of the key, shown in listings so an operator can tell keys apart. */
    prefix: text("prefix").notNull(),
    label: text("label"),
    /** What the key may do: generate, moderate, verify (API) and review (the reviewers' workspace). */
    scopes: text("scopes").array().notNull().default(sql`'{generate,moderate,verify}'::text[]`),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /**
     * A `review` key's tenant scope in the workspace: the tenants whose requests it sees and
     * decides (null: every tenant). Reviewer accounts keep theirs on `reviewers.tenant_ids`.
     */
    reviewTenantIds: uuid("review_tenant_ids").array(),
  },
  (t) => [
    uniqueIndex("api_keys_key_hash_idx").on(t.keyHash),
    index("api_keys_tenant_idx").on(t.tenantId),
  ],
);

/** One row per request to generate (or edit), whatever its outcome: the prompt audit. */
export const generations = pgTable(
  "generations",
  {
    id: uuid("id").primaryKey(),
    tenantId: uuid("tenant_id")
      .notNull()
      .references(() => tenants.id),
    apiKeyId: uuid("api_key_id").references(() => apiKeys.id),
    /** The OpenAI `user` field: the caller's reference for its own end user. */
    endUser: text("end_user"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /** generate | edit */
    kind: text("kind").notNull(),
    /** completed | refused | failed */
    status: text("status").notNull(),
    /** What the policy keeps of prompts: plaintext | sha256 | encrypted. */
    promptRetention: text("prompt_retention").notNull(),
    prompt: text("prompt"),
    promptSha256: text("prompt_sha256").notNull(),
    negativePrompt: text("negative_prompt"),
    negativePromptSha256: text("negative_prompt_sha256"),
    /** size, n, seed, output_format as requested. */
    params: jsonb("params").notNull(),
    model: text("model").notNull(),
    backend: text("backend").notNull(),
    /** allow | review | block */
    action: text("action").notNull(),
    /** The whole decision: scores, thresholds, rules fired, policy id and hash. */
    decision: jsonb("decision").notNull(),
    /** Per stage: name, status (applied | absent | skipped | failed), milliseconds. */
    stages: jsonb("stages").notNull(),
    errorCode: text("error_code"),
    /** Index of this request's entry in the audit log (set by the audit stage when it exists). */
    logIndex: bigint("log_index", { mode: "number" }),
  },
  (t) => [index("generations_tenant_created_idx").on(t.tenantId, t.createdAt)],
);

/** One row per output image. */
export const images = pgTable(
  "images",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    generationId: uuid("generation_id")
      .notNull()
      .references(() => generations.id),
    index: integer("index").notNull(),
    sha256: text("sha256").notNull(),
    mediaType: text("media_type").notNull(),
    width: integer("width").notNull(),
    height: integer("height").notNull(),
    bytes: integer("bytes").notNull(),
    seed: text("seed"),
    /** The marks applied to this image, e.g. [{ kind: "c2pa", label }, { kind: "watermark", … }]. */
    marks: jsonb("marks").notNull().default(sql`'[]'::jsonb`),
    /** The random mark id the invisible watermark carries (hex), for lookup of stripped copies. */
    watermarkMarkId: text("watermark_mark_id"),
    /** The signed C2PA manifest store, kept so a stripped copy can be given its credentials back. */
    c2paManifest: bytea("c2pa_manifest"),
    c2paLabel: text("c2pa_label"),
    /** PDQ perceptual hash (64 hex digits) and its quality, to find re-encoded or stripped copies. */
    pdqHash: text("pdq_hash"),
    pdqQuality: integer("pdq_quality"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("images_sha256_idx").on(t.sha256),
    // Unique: a mark id must lead to one image, never two (48 random bits; a collision fails the insert).
    uniqueIndex("images_watermark_mark_id_idx").on(t.watermarkMarkId),
    uniqueIndex("images_generation_index_idx").on(t.generationId, t.index),
  ],
);

/**
 * Reviewers' workspace sessions (src/review). The cookie carries a random token; only its
 * SHA-256 is stored. Each session has its own CSRF token for the forms.
 */
export const reviewSessions = pgTable(
  "review_sessions",
  {
    /** hex SHA-256 of the session token. */
    tokenHash: text("token_hash").primaryKey(),
    apiKeyId: uuid("api_key_id")
      .notNull()
      .references(() => apiKeys.id),
    csrfToken: text("csrf_token").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("review_sessions_expires_idx").on(t.expiresAt)],
);

/** A reviewer's decision on a held request; each is also a `review` entry in the audit log. */
export const reviewDecisions = pgTable(
  "review_decisions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    generationId: uuid("generation_id")
      .notNull()
      .references(() => generations.id),
    reviewerKeyId: uuid("reviewer_key_id")
      .notNull()
      .references(() => apiKeys.id),
    /** approve | uphold */
    decision: text("decision").notNull(),
    note: text("note").notNull().default(""),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    /** Index of the `review` entry in the audit log. */
    logIndex: bigint("log_index", { mode: "number" }).notNull(),
  },
  (t) => [uniqueIndex("review_decisions_generation_idx").on(t.generationId)],
);

export const schema = { tenants, apiKeys, generations, images, reviewSessions, reviewDecisions };
