/**
 * Reviewer accounts of the compliance workspace (src/review, docs/review.md). Each account has
 * a role and a scrypt password hash (`scrypt$N$r$p$salt$hash`, the parameters kept with the
 * hash so they can be raised later). Its workspace identity is an API key row (`api_key_id`,
 * scope `review`, tenant `reviewers`) whose secret is never shown: sessions and decisions
 * reference that key, so an account's sessions end at once when it is disabled (its key is
 * revoked) and its decisions name it in the audit log as before.
 */
import { bigserial, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { apiKeys } from "./schema.js";

export const reviewers = pgTable("reviewers", {
  id: uuid("id").primaryKey().defaultRandom(),
  /** Unique, lower-case: 1-64 of a-z 0-9 . _ - */
  username: text("username").notNull().unique(),
  /** reviewer | admin */
  role: text("role").notNull(),
  passwordHash: text("password_hash").notNull(),
  apiKeyId: uuid("api_key_id")
    .notNull()
    .unique()
    .references(() => apiKeys.id),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  lastLoginAt: timestamp("last_login_at", { withTimezone: true }),
  /** Set by `hallmark reviewer disable` or an admin; a disabled account cannot log in. */
  disabledAt: timestamp("disabled_at", { withTimezone: true }),
  /**
   * The tenants whose requests a `reviewer` account sees and decides; null: every tenant.
   * Admins always see every tenant (they manage the accounts, so a scope would not hold).
   */
  tenantIds: uuid("tenant_ids").array(),
});

/**
 * Failed logins to the workspace, counted by every replica against one window (src/review/
 * login-limiter.ts). The subject ("u:<username>" or "ip:<address>") is stored as its SHA-256:
 * what people type into a username field (sometimes a password) and their addresses are not
 * kept, and rows older than the window are deleted as new failures arrive.
 */
export const reviewLoginFailures = pgTable(
  "review_login_failures",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** hex SHA-256 of "u:<username>" or "ip:<address>". */
    subjectHash: text("subject_hash").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull(),
  },
  (t) => [
    index("review_login_failures_subject_at").on(t.subjectHash, t.at),
    index("review_login_failures_at").on(t.at),
  ],
);
