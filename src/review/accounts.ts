import { and, asc, eq, ne } from "drizzle-orm";
import type { Db } from "../db/index.js";
import { reviewSessions, tenants } from "../db/schema.js";
import { reviewers } from "../db/schema-reviewers.js";
import { HallmarkError } from "../errors/index.js";
import {
  createApiKey,
  createTenant,
  resolveTenantScope,
  scopeNames,
  tenantNamesById,
} from "../tenants/index.js";
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./password.js";

/**
 * Reviewer accounts (docs/review.md). Roles: `reviewer` works the queue, decides, searches and
 * exports; `admin` also manages the accounts (the Reviewers page). Each account's workspace
 * identity is an API key of tenant `reviewers` with the `review` scope whose secret is thrown
 * away at creation: sessions and decisions reference it as they reference a reviewer's key.
 */

export const REVIEWER_ROLES = ["reviewer", "admin"] as const;
export type ReviewerRole = (typeof REVIEWER_ROLES)[number];
/** The tenant holding the accounts' principal keys. */
export const REVIEWERS_TENANT = "reviewers";
/** What a username may be. */
export const USERNAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export interface ReviewerInfo {
  id: string;
  username: string;
  role: ReviewerRole;
  apiKeyId: string;
  createdAt: Date;
  lastLoginAt: Date | null;
  disabledAt: Date | null;
  /** Names of the tenants a reviewer account sees; null: every tenant (always so for admins). */
  tenants: string[] | null;
}

const toInfo = (r: typeof reviewers.$inferSelect, names: Map<string, string>): ReviewerInfo => ({
  id: r.id,
  username: r.username,
  role: r.role === "admin" ? "admin" : "reviewer",
  apiKeyId: r.apiKeyId,
  createdAt: r.createdAt,
  lastLoginAt: r.lastLoginAt,
  disabledAt: r.disabledAt,
  tenants: scopeNames(r.tenantIds, names),
});

/**
 * The tenant ids of a scope given by names (null: every tenant). Unknown names, an empty list
 * and a scope on an admin are `invalid_request_error`.
 */
async function scopeIds(
  db: Db,
  role: ReviewerRole,
  names: readonly string[] | null | undefined,
): Promise<string[] | null> {
  if (names === null || names === undefined) return null;
  if (role === "admin")
    throw new HallmarkError(
      "invalid_request_error",
      "Admins see every tenant (they manage the accounts); only reviewer accounts have a tenant scope.",
      { param: "tenants" },
    );
  return resolveTenantScope(db, names);
}

export function checkUsername(username: string): string {
  if (!USERNAME_RE.test(username))
    throw new HallmarkError(
      "invalid_request_error",
      `Usernames are 1-64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit; got "${username.slice(0, 80)}".`,
      { param: "username" },
    );
  return username;
}

export function checkPassword(password: string): string {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH)
    throw new HallmarkError(
      "invalid_request_error",
      `Passwords are ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.`,
      { param: "password" },
    );
  return password;
}

/**
 * Creates an account. The password is hashed here; it is never stored or logged in clear.
 *
 * @example await createReviewer(db, { username: "alice", role: "admin", password })
 */
export async function createReviewer(
  db: Db,
  input: { username: string; role: string; password: string; tenants?: string[] | null },
): Promise<ReviewerInfo> {
  const username = checkUsername(input.username);
  const role = REVIEWER_ROLES.find((r) => r === input.role);
  if (!role)
    throw new HallmarkError("invalid_request_error", "The role is reviewer or admin.", {
      param: "role",
    });
  const tenantIds = await scopeIds(db, role, input.tenants);
  const passwordHash = await hashPassword(checkPassword(input.password));
  const [taken] = await db.select().from(reviewers).where(eq(reviewers.username, username));
  if (taken)
    throw new HallmarkError("invalid_request_error", `Reviewer "${username}" already exists.`, {
      param: "username",
    });
  const [tenant] = await db.select().from(tenants).where(eq(tenants.name, REVIEWERS_TENANT));
  if (!tenant) await createTenant(db, REVIEWERS_TENANT);
  const { info } = await createApiKey(db, {
    tenant: REVIEWERS_TENANT,
    label: `reviewer:${username}`,
    scopes: ["review"],
  });
  try {
    const [row] = await db
      .insert(reviewers)
      .values({ username, role, passwordHash, apiKeyId: info.id, tenantIds })
      .returning();
    return toInfo(row!, await tenantNamesById(db));
  } catch (error) {
    // A concurrent create of the same name lost the unique race.
    if (String((error as { cause?: unknown })?.cause ?? error).includes("unique"))
      throw new HallmarkError("invalid_request_error", `Reviewer "${username}" already exists.`, {
        param: "username",
      });
    throw error;
  }
}

export async function listReviewers(db: Db): Promise<ReviewerInfo[]> {
  const names = await tenantNamesById(db);
  return (await db.select().from(reviewers).orderBy(asc(reviewers.username))).map((r) =>
    toInfo(r, names),
  );
}

export async function findReviewer(db: Db, username: string) {
  const [row] = await db.select().from(reviewers).where(eq(reviewers.username, username));
  return row ?? null;
}

/** Disables (or re-enables) an account; a disabled account's sessions stop working at once. */
export async function setReviewerDisabled(
  db: Db,
  username: string,
  disabled: boolean,
): Promise<ReviewerInfo> {
  const [row] = await db
    .update(reviewers)
    .set({ disabledAt: disabled ? new Date() : null })
    .where(eq(reviewers.username, checkUsername(username)))
    .returning();
  if (!row) throw new HallmarkError("not_found", `No reviewer named "${username}".`);
  return toInfo(row, await tenantNamesById(db));
}

/**
 * Sets an account's password (hashed here) and ends the account's sessions, all of them or all
 * but the one whose token hash is `keepSessionHash` (the session that changed its own password).
 * The update and the session ends are one transaction: no old session outlives the change.
 *
 * @example await setReviewerPassword(db, "alice", generatePassword())
 */
export async function setReviewerPassword(
  db: Db,
  username: string,
  password: string,
  keepSessionHash?: string,
): Promise<ReviewerInfo> {
  const passwordHash = await hashPassword(checkPassword(password));
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(reviewers)
      .set({ passwordHash })
      .where(eq(reviewers.username, checkUsername(username)))
      .returning();
    if (!row) throw new HallmarkError("not_found", `No reviewer named "${username}".`);
    await tx
      .delete(reviewSessions)
      .where(
        keepSessionHash === undefined
          ? eq(reviewSessions.apiKeyId, row.apiKeyId)
          : and(
              eq(reviewSessions.apiKeyId, row.apiKeyId),
              ne(reviewSessions.tokenHash, keepSessionHash),
            ),
      );
    return toInfo(row, await tenantNamesById(tx as unknown as Db));
  });
}

/**
 * Sets which tenants a reviewer account sees (names; null: every tenant). It applies at the
 * account's next request: sessions read the scope from the account each time.
 *
 * @example await setReviewerTenants(db, "ann", ["acme"])
 */
export async function setReviewerTenants(
  db: Db,
  username: string,
  names: readonly string[] | null,
): Promise<ReviewerInfo> {
  const account = await findReviewer(db, checkUsername(username));
  if (!account) throw new HallmarkError("not_found", `No reviewer named "${username}".`);
  const tenantIds = await scopeIds(db, account.role === "admin" ? "admin" : "reviewer", names);
  const [row] = await db
    .update(reviewers)
    .set({ tenantIds })
    .where(eq(reviewers.id, account.id))
    .returning();
  return toInfo(row!, await tenantNamesById(db));
}

export async function touchLogin(db: Db, id: string): Promise<void> {
  await db.update(reviewers).set({ lastLoginAt: new Date() }).where(eq(reviewers.id, id));
}
