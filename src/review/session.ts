import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, gt, lt } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { apiKeys, reviewSessions, tenants } from "../db/schema.js";

/**
 * Server-side sessions of the reviewers' workspace. The cookie holds a random 256-bit token;
 * the table holds only its SHA-256, the key it was opened with and a per-session CSRF token.
 * A session ends at its expiry, at logout, or as soon as its key is revoked or loses `review`.
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
  /** Empty for a bearer-key request (no cookie, so no CSRF exposure). */
  csrfToken: string;
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
    .select({ s: reviewSessions, key: apiKeys, tenant: tenants.name })
    .from(reviewSessions)
    .innerJoin(apiKeys, eq(reviewSessions.apiKeyId, apiKeys.id))
    .innerJoin(tenants, eq(apiKeys.tenantId, tenants.id))
    .where(
      and(eq(reviewSessions.tokenHash, sha256(token)), gt(reviewSessions.expiresAt, new Date())),
    );
  if (!row || row.key.revokedAt || !row.key.scopes.includes(REVIEW_SCOPE)) return null;
  return {
    apiKeyId: row.key.id,
    prefix: row.key.prefix,
    tenantName: row.tenant,
    csrfToken: row.s.csrfToken,
  };
}

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
