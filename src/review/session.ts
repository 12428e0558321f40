import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, gt, lt } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { apiKeys, reviewSessions, tenants } from "../db/schema.js";
import { reviewers } from "../db/schema-reviewers.js";
import type { ReviewerRole } from "./accounts.js";

/**
 * Server-side sessions of the reviewers' workspace. The cookie holds a random 256-bit token;
 * the table holds only its SHA-256, the key it was opened with and a per-session CSRF token.
 * A session ends at its expiry, at logout, or as soon as its key is revoked or loses `review`.
 * An account's session is opened with the account's principal key (accounts.ts) and also ends
 * as soon as the account is disabled.
 */

/** The cookie's name. */
export const SESSION_COOKIE = "hm_review";
/** How long a session lasts from login, in seconds. */
export const SESSION_TTL_S = 60 * 60;
/** The scope a key needs to use the workspace. */
export const REVIEW_SCOPE = "review";

/** Who is using the workspace. */
export interface Reviewer {
  apiKeyId: string;
  prefix: string;
  tenantName: string;
  /** The account's name; absent for a session opened with an API key. */
  username?: string;
  /** `admin` only for an admin account; keys are reviewers. */
  role: ReviewerRole;
  /** Empty for a bearer-key request (no cookie, so no CSRF exposure). */
  csrfToken: string;
  /**
   * The tenants whose requests this reviewer sees and decides; null: every tenant (admins,
   * accounts and review keys without a tenant scope).
   */
  tenantIds: readonly string[] | null;
}

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/** Opens a session for a key that has the review scope; returns the cookie's token. */
export async function openSession(
  db: Db,
  apiKeyId: string,
  now = new Date(),
): Promise<{ token: string; csrfToken: string }> {
  const token = randomBytes(32).toString("base64url");
  const csrfToken = randomBytes(32).toString("base64url");
  // Expired sessions are swept at each login: the table stays small without a timer.
  await db.delete(reviewSessions).where(lt(reviewSessions.expiresAt, now));
  await db.insert(reviewSessions).values({
    tokenHash: sha256(token),
    apiKeyId,
    csrfToken,
    expiresAt: new Date(now.getTime() + SESSION_TTL_S * 1000),
  });
  return { token, csrfToken };
}

/** The reviewer behind a cookie token, or null when the session is unknown, expired or void. */
export async function findSession(db: Db, token: string): Promise<Reviewer | null> {
  if (token.length > 100) return null;
  const [row] = await db
    .select({ s: reviewSessions, key: apiKeys, tenant: tenants.name, account: reviewers })
    .from(reviewSessions)
    .innerJoin(apiKeys, eq(reviewSessions.apiKeyId, apiKeys.id))
    .innerJoin(tenants, eq(apiKeys.tenantId, tenants.id))
    .leftJoin(reviewers, eq(reviewers.apiKeyId, apiKeys.id))
    .where(
      and(eq(reviewSessions.tokenHash, sha256(token)), gt(reviewSessions.expiresAt, new Date())),
    );
  if (!row || row.key.revokedAt || !row.key.scopes.includes(REVIEW_SCOPE)) return null;
  // A disabled account's sessions end at once.
  if (row.account?.disabledAt) return null;
  return {
    apiKeyId: row.key.id,
    prefix: row.key.prefix,
    tenantName: row.tenant,
    username: row.account?.username,
    role: row.account?.role === "admin" ? "admin" : "reviewer",
    csrfToken: row.s.csrfToken,
    // An account's scope is its own; a session opened with a key has the key's review scope.
    tenantIds: row.account
      ? row.account.role === "admin"
        ? null
        : (row.account.tenantIds ?? null)
      : (row.key.reviewTenantIds ?? null),
  };
}

/** The stored form of a session token (the table's key). */
export const sessionTokenHash = (token: string) => sha256(token);

/** Ends a session (logout). */
export async function closeSession(db: Db, token: string): Promise<void> {
  await db.delete(reviewSessions).where(eq(reviewSessions.tokenHash, sha256(token)));
}

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfMatches(expected: string, submitted: unknown): boolean {
  if (typeof submitted !== "string" || expected.length === 0) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}
