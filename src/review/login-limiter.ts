/**
 * Failed-login limits of the workspace, per username and per client address, kept in the
 * database every replica shares (table review_login_failures): N replicas give an attacker
 * the same budget as one, and a restart forgets nothing. Subjects are stored as SHA-256 only;
 * rows older than the window are deleted as new failures arrive.
 *
 * Times are this process's clock (injectable for tests); replicas are expected to keep NTP
 * time, and a few seconds of skew only moves a 15-minute window by as much.
 */
import { createHash } from "node:crypto";
import { and, desc, eq, gt, lte } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { reviewLoginFailures } from "../db/schema-reviewers.js";

export interface LoginLimits {
  /** Failures per username within the window before that username is locked. */
  maxFailures: number;
  /** Failures per client address within the window before that address is locked. */
  maxFailuresPerIp: number;
  /** The window, in seconds; a lock lasts until the oldest counted failure leaves it. */
  windowS: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  maxFailures: 5,
  maxFailuresPerIp: 20,
  windowS: 900,
};

export interface LoginLimiter {
  /** Seconds until a new attempt is allowed for this username or address; 0 when allowed. */
  retryAfter(username: string, ip: string): Promise<number>;
  fail(username: string, ip: string): Promise<void>;
  /** A success clears the username's failures (not the address's). */
  succeed(username: string): Promise<void>;
}

const subject = (kind: "u" | "ip", value: string) =>
  createHash("sha256").update(`${kind}:${value}`).digest("hex");

/**
 * @example const limiter = createLoginLimiter(db, { maxFailures: 5, maxFailuresPerIp: 20, windowS: 900 })
 */
export function createLoginLimiter(
  db: Db,
  limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
  clock: () => number = Date.now,
): LoginLimiter {
  const windowMs = limits.windowS * 1000;
  /** Seconds until `hash` has fewer than `max` failures in the window. */
  const wait = async (hash: string, max: number, now: number) => {
    const rows = await db
      .select({ at: reviewLoginFailures.at })
      .from(reviewLoginFailures)
      .where(
        and(
          eq(reviewLoginFailures.subjectHash, hash),
          gt(reviewLoginFailures.at, new Date(now - windowMs)),
        ),
      )
      .orderBy(desc(reviewLoginFailures.at))
      .limit(max);
    if (rows.length < max) return 0;
    // The max-th newest failure is the one whose leaving the window unlocks the subject.
    return Math.max(1, Math.ceil((rows[max - 1]!.at.getTime() + windowMs - now) / 1000));
  };
  return {
    async retryAfter(username, ip) {
      const now = clock();
      const [byName, byIp] = await Promise.all([
        wait(subject("u", username), limits.maxFailures, now),
        wait(subject("ip", ip), limits.maxFailuresPerIp, now),
      ]);
      return Math.max(byName, byIp);
    },
    async fail(username, ip) {
      const at = new Date(clock());
      await db.transaction(async (tx) => {
        await tx.insert(reviewLoginFailures).values([
          { subjectHash: subject("u", username), at },
          { subjectHash: subject("ip", ip), at },
        ]);
        // Failures that no longer count, anyone's: the table holds one window at most.
        await tx
          .delete(reviewLoginFailures)
          .where(lte(reviewLoginFailures.at, new Date(at.getTime() - windowMs)));
      });
    },
    async succeed(username) {
      await db
        .delete(reviewLoginFailures)
        .where(eq(reviewLoginFailures.subjectHash, subject("u", username)));
    },
  };
}
