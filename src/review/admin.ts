import type { Context, Hono } from "hono";
import type { Db } from "../db/index.js";
import { withDatabase } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import { parseTenantList } from "../tenants/index.js";
import {
  createReviewer,
  listReviewers,
  setReviewerDisabled,
  setReviewerPassword,
  setReviewerTenants,
} from "./accounts.js";
import { reviewersPage } from "./pages.js";
import { generatePassword } from "./password.js";
import type { ReviewEnv } from "./routes.js";

/**
 * What only an admin account may do: manage the reviewer accounts (list, create with a
 * generated or chosen password, set a reviewer's tenants, reset a password, disable,
 * re-enable). Reviewers and review-scoped keys get 403.
 * The session middleware has already checked the CSRF token of every POST.
 */
export function registerAdminRoutes(app: Hono<ReviewEnv>, deps: { db: Db }): void {
  const { db } = deps;
  /** A form's invalid value: the page again with the message, 400. */
  const formError = async (c: Context<ReviewEnv>, error: unknown) => {
    if (!(error instanceof HallmarkError) || error.code !== "invalid_request_error") throw error;
    const list = await withDatabase(() => listReviewers(db));
    return c.html(reviewersPage(c.get("reviewer"), list, { error: error.message }), 400);
  };
  app.use("/admin/*", async (c, next) => {
    if (c.get("reviewer").role !== "admin")
      throw new HallmarkError("insufficient_scope", "Only an admin account can manage reviewers.");
    return next();
  });

  app.get("/admin/reviewers", async (c) =>
    c.html(reviewersPage(c.get("reviewer"), await withDatabase(() => listReviewers(db)))),
  );

  app.post("/admin/reviewers", async (c) => {
    const form = await c.req.parseBody();
    const str = (v: unknown) => (typeof v === "string" ? v : "");
    const username = str(form.username).trim().toLowerCase();
    const given = str(form.password);
    const password = given || generatePassword();
    try {
      const tenants = parseTenantList(str(form.tenants));
      await withDatabase(() =>
        createReviewer(db, { username, role: str(form.role), password, tenants }),
      );
    } catch (error) {
      return formError(c, error);
    }
    const list = await withDatabase(() => listReviewers(db));
    // A generated password is shown once, on this response only (no-store), never stored.
    return c.html(
      reviewersPage(c.get("reviewer"), list, {
        created: { username, password: given ? null : password },
      }),
    );
  });

  // Which tenants a reviewer account sees: comma-separated names, or empty for every tenant.
  app.post("/admin/reviewers/:username/tenants", async (c) => {
    const form = await c.req.parseBody();
    const names = parseTenantList(typeof form.tenants === "string" ? form.tenants : "");
    try {
      await withDatabase(() => setReviewerTenants(db, c.req.param("username"), names));
    } catch (error) {
      return formError(c, error);
    }
    return c.redirect("/review/admin/reviewers", 303);
  });

  // A forgotten password: a new one is generated, shown once to the admin, and every session of
  // the account ends. An admin changes their own on the Account page (it asks the old one).
  app.post("/admin/reviewers/:username/reset-password", async (c) => {
    const username = c.req.param("username");
    if (username === c.get("reviewer").username)
      throw new HallmarkError(
        "invalid_request_error",
        "Change your own password on the Account page.",
      );
    const password = generatePassword();
    await withDatabase(() => setReviewerPassword(db, username, password));
    c.get("logger")?.info("review: password reset by an admin", {
      username,
      by: c.get("reviewer").username,
    });
    const list = await withDatabase(() => listReviewers(db));
    return c.html(reviewersPage(c.get("reviewer"), list, { reset: { username, password } }));
  });

  for (const [action, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    app.post(`/admin/reviewers/:username/${action}`, async (c) => {
      const username = c.req.param("username");
      if (disabled && username === c.get("reviewer").username)
        throw new HallmarkError("invalid_request_error", "You cannot disable your own account.");
      await withDatabase(() => setReviewerDisabled(db, username, disabled));
      return c.redirect("/review/admin/reviewers", 303);
    });
  }
}
