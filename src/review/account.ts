import type { Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import type { Db } from "../db/index.js";
import { withDatabase } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import { findReviewer, setReviewerPassword } from "./accounts.js";
import type { LoginLimiter } from "./login-limiter.js";
import { accountPage } from "./pages.js";
import { verifyPassword } from "./password.js";
import type { ReviewEnv } from "./routes.js";
import { SESSION_COOKIE, sessionTokenHash } from "./session.js";

/**
 * A reviewer's own account: the password change. The current password is asked again (a
 * session left open on a shared screen must not be enough), and a wrong one counts as a failed
 * login of that username, so a stolen session cannot guess faster than the login form can.
 * A change ends every other session of the account. The session middleware has already
 * checked the CSRF token of every POST.
 */
export function registerAccountRoutes(
  app: Hono<ReviewEnv>,
  deps: { db: Db; limiter: LoginLimiter; clientIp: (c: Context) => string },
): void {
  const { db, limiter } = deps;

  app.get("/account", (c) => c.html(accountPage(c.get("reviewer"))));

  app.post("/account/password", async (c) => {
    const who = c.get("reviewer");
    const username = who.username;
    if (!username || !who.csrfToken)
      throw new HallmarkError(
        "insufficient_scope",
        "Only an account signed in with its password has a password to change.",
      );
    const form = await c.req.parseBody();
    const str = (v: unknown) => (typeof v === "string" ? v : "");
    const current = str(form.current);
    const next = str(form.password);
    const show = (status: 200 | 400 | 401 | 429, notice: { error?: string; changed?: boolean }) =>
      c.html(accountPage(who, notice), status);

    const ip = deps.clientIp(c);
    const wait = await withDatabase(() => limiter.retryAfter(username, ip));
    if (wait > 0) {
      c.header("retry-after", String(wait));
      return show(429, { error: `Too many wrong passwords; try again in ${wait} seconds.` });
    }
    const account = await withDatabase(() => findReviewer(db, username));
    if (!account || !(await verifyPassword(current, account.passwordHash))) {
      await withDatabase(() => limiter.fail(username, ip));
      return show(401, { error: "The current password is wrong." });
    }
    if (next !== str(form.confirm))
      return show(400, { error: "The new password and its confirmation differ." });
    if (next === current)
      return show(400, { error: "The new password must differ from the current one." });
    const token = getCookie(c, SESSION_COOKIE) ?? "";
    try {
      // Checks the new password's length before hashing it.
      await withDatabase(() => setReviewerPassword(db, username, next, sessionTokenHash(token)));
    } catch (error) {
      if (error instanceof HallmarkError && error.code === "invalid_request_error")
        return show(400, { error: error.message });
      throw error;
    }
    await withDatabase(() => limiter.succeed(username));
    c.get("logger")?.info("review: password changed", { username });
    return show(200, { changed: true });
  });
}
