import { randomBytes } from "node:crypto";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Db } from "../db/index.js";
import { withDatabase } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import { clientAddress } from "../http/client-address.js";
import type { AppEnv } from "../http/context.js";
import { statusFor } from "../http/errors.js";
import { type AuthThrottle, authenticate, lookUpKey } from "../tenants/index.js";
import { registerAccountRoutes } from "./account.js";
import { findReviewer, touchLogin, USERNAME_RE } from "./accounts.js";
import { registerAdminRoutes } from "./admin.js";
import { loadItem, MAX_NOTE_LENGTH, REVIEW_DECISIONS, recordReview } from "./decide.js";
import { csvHeader, csvLine, jsonLine } from "./export.js";
import { type LiveC2paDeps, validateKept } from "./live-c2pa.js";
import { createLoginLimiter, DEFAULT_LOGIN_LIMITS, type LoginLimits } from "./login-limiter.js";
import { errorPage, itemPage, loginPage, queuePage, searchPage, statsPage } from "./pages.js";
import { dummyHash, MAX_PASSWORD_LENGTH, verifyPassword } from "./password.js";
import {
  formatCursor,
  parseCursor,
  parseFilter,
  searchPage as runSearch,
  searchAll,
} from "./search.js";
import {
  closeSession,
  csrfMatches,
  findSession,
  openSession,
  REVIEW_SCOPE,
  type Reviewer,
  SESSION_COOKIE,
  SESSION_TTL_S,
} from "./session.js";
import { dailyStats, MAX_STATS_DAYS } from "./stats.js";

export type ReviewEnv = { Variables: AppEnv["Variables"] & { reviewer: Reviewer } };

/** Rows shown on the queue and search pages; the exports hold every row. */
export const PAGE_ROWS = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** The posted form; a body that is not a form (multipart without a boundary, junk) is a 400. */
async function readForm(c: Context): Promise<Record<string, string | File | (string | File)[]>> {
  try {
    return await c.req.parseBody();
  } catch {
    throw new HallmarkError("invalid_request_error", "The form could not be read.");
  }
}

/** The cookie carrying the login form's CSRF token (double submit: cookie and hidden field). */
export const LOGIN_CSRF_COOKIE = "hm_review_login";

/** Options of the workspace (config: HALLMARK_TRUST_PROXY, HALLMARK_REVIEW_LOGIN_*). */
export interface ReviewOptions {
  /** Believe X-Forwarded-Proto and X-Forwarded-For (only behind a proxy that sets them). */
  trustProxy?: boolean;
  login?: LoginLimits;
  /** The C2PA reader and output store, to validate a held request's kept images live. */
  provenance?: LiveC2paDeps;
  /**
   * Wrong bearer keys counted per client address, shared with the API's (tenants/auth-throttle.ts,
   * HALLMARK_AUTH_FAILURES_PER_MINUTE); absent: not limited.
   */
  authThrottle?: AuthThrottle;
}

function isHttps(c: Context, trustProxy: boolean): boolean {
  return (
    c.req.url.startsWith("https:") ||
    (trustProxy && c.req.header("x-forwarded-proto")?.split(",")[0]?.trim() === "https")
  );
}

/**
 * The reviewers' workspace under /review: login, the queue of held requests, an item page
 * with the decision form, search, and CSV / JSON-lines export. A browser signs in with an API
 * key that has the `review` scope (a server-side session cookie, CSRF token on every form);
 * a script may instead send `Authorization: Bearer <key>` with such a key.
 *
 * @example app.route("/review", reviewApp({ db }))
 */
export function reviewApp(deps: { db: Db } & ReviewOptions): Hono<ReviewEnv> {
  const { db } = deps;
  const trustProxy = deps.trustProxy ?? false;
  const limiter = createLoginLimiter(db, deps.login ?? DEFAULT_LOGIN_LIMITS);
  // Checked when the username is unknown or disabled, so every failure costs one scrypt.
  let decoy: Promise<string> | undefined;
  const app = new Hono<ReviewEnv>();

  app.use("*", async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
  });
  app.onError((error, c) => {
    const known = error instanceof HallmarkError;
    if (!known) c.get("logger")?.error("review: unexpected error", { error: String(error) });
    const status = known ? statusFor(error.code) : 500;
    const message = known ? error.message : "Internal error.";
    return c.html(errorPage(status, message, c.get("reviewer")), status);
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: 64 * 1024,
      onError: () => {
        throw new HallmarkError("payload_too_large", "The form is too large.");
      },
    }),
  );

  const cookieOptions = (c: Context, maxAge: number) =>
    ({
      path: "/review",
      httpOnly: true,
      sameSite: "Strict",
      secure: isHttps(c, trustProxy),
      maxAge,
    }) as const;
  /** The login page with a fresh login CSRF token (cookie and hidden field). */
  const showLogin = (c: Context, status: 200 | 400 | 401 | 403 | 429, error?: string) => {
    const token = randomBytes(32).toString("base64url");
    setCookie(c, LOGIN_CSRF_COOKIE, token, cookieOptions(c, SESSION_TTL_S));
    return c.html(loginPage(token, error), status);
  };
  const startSession = async (c: Context, apiKeyId: string) => {
    const { token } = await withDatabase(() => openSession(db, apiKeyId));
    setCookie(c, SESSION_COOKIE, token, cookieOptions(c, SESSION_TTL_S));
    deleteCookie(c, LOGIN_CSRF_COOKIE, { path: "/review" });
    return c.redirect("/review", 303);
  };

  app.get("/login", (c) => showLogin(c, 200));
  app.post("/login", async (c) => {
    const form = await readForm(c);
    const expected = getCookie(c, LOGIN_CSRF_COOKIE) ?? "";
    if (!csrfMatches(expected, form.csrf))
      return showLogin(c, 403, "The login form expired; try again.");
    const ip = clientAddress(c, trustProxy);
    const username = typeof form.username === "string" ? form.username.trim().toLowerCase() : "";
    const key = typeof form.key === "string" ? form.key.trim() : "";
    // Key logins count against the address and a shared "(key)" name per key prefix.
    const who = username || `(key ${key.slice(0, 12)})`;
    const wait = await withDatabase(() => limiter.retryAfter(who, ip));
    if (wait > 0) {
      c.header("retry-after", String(wait));
      return showLogin(c, 429, `Too many failed logins; try again in ${wait} seconds.`);
    }
    if (username) {
      const password = typeof form.password === "string" ? form.password : "";
      if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH || username.length > 64)
        return showLogin(c, 400, "Enter your username and password.");
      // A name no account can have (NUL, spaces, …) is a failure without a query.
      const account = USERNAME_RE.test(username)
        ? await withDatabase(() => findReviewer(db, username))
        : null;
      decoy ??= dummyHash();
      const ok = await verifyPassword(password, account?.passwordHash ?? (await decoy));
      if (!account || account.disabledAt || !ok) {
        await withDatabase(() => limiter.fail(who, ip));
        return showLogin(c, 401, "Incorrect username or password, or the account is disabled.");
      }
      await withDatabase(() => limiter.succeed(who));
      await withDatabase(() => touchLogin(db, account.id));
      return startSession(c, account.apiKeyId);
    }
    if (key.length === 0 || key.length > 256)
      return showLogin(c, 400, "Enter a username and password, or an API key.");
    let principal: Awaited<ReturnType<typeof authenticate>>;
    try {
      principal = await withDatabase(() => authenticate(db, key));
    } catch (error) {
      if (error instanceof HallmarkError && error.code === "invalid_api_key") {
        await withDatabase(() => limiter.fail(who, ip));
        return showLogin(c, 401, "Incorrect or revoked API key.");
      }
      throw error;
    }
    if (!principal.scopes?.includes(REVIEW_SCOPE))
      return showLogin(c, 403, "This key does not have the review scope.");
    return startSession(c, principal.apiKeyId);
  });

  // Everything below needs a reviewer: a session cookie, or a bearer key with the scope.
  app.use("*", async (c, next) => {
    const header = c.req.header("authorization");
    if (header?.startsWith("Bearer ")) {
      const p = await lookUpKey(
        header.slice(7).trim(),
        (key) => withDatabase(() => authenticate(db, key)),
        deps.authThrottle && {
          throttle: deps.authThrottle,
          address: clientAddress(c, trustProxy),
        },
      );
      if (!p.scopes?.includes(REVIEW_SCOPE))
        throw new HallmarkError("insufficient_scope", "This key does not have the review scope.");
      c.set("reviewer", {
        apiKeyId: p.apiKeyId,
        prefix: header.slice(7, 16),
        tenantName: p.tenantName,
        role: "reviewer",
        csrfToken: "",
        tenantIds: p.reviewTenantIds ?? null,
      });
      return next();
    }
    const token = getCookie(c, SESSION_COOKIE);
    const reviewer = token ? await withDatabase(() => findSession(db, token)) : null;
    if (!reviewer) return c.redirect("/review/login", 303);
    c.set("reviewer", reviewer);
    // Cookie-authenticated writes must carry the session's CSRF token.
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const form = await readForm(c);
      if (!csrfMatches(reviewer.csrfToken, form.csrf))
        throw new HallmarkError(
          "insufficient_scope",
          "Missing or wrong CSRF token; reload the page.",
        );
    }
    return next();
  });

  registerAdminRoutes(app, { db });
  registerAccountRoutes(app, { db, limiter, clientIp: (c) => clientAddress(c, trustProxy) });

  app.post("/logout", async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token) await withDatabase(() => closeSession(db, token));
    deleteCookie(c, SESSION_COOKIE, { path: "/review" });
    return c.redirect("/review/login", 303);
  });

  app.get("/", async (c) => {
    // Oldest first: the request that has waited longest is decided first.
    const rows = await withDatabase(() =>
      runSearch(db, { pending: "1" }, PAGE_ROWS, undefined, "asc", c.get("reviewer").tenantIds),
    );
    return c.html(queuePage(c.get("reviewer"), rows));
  });

  app.get("/stats", async (c) => {
    const raw = c.req.query("days") ?? "30";
    const days = /^\d{1,3}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(days >= 1 && days <= MAX_STATS_DAYS))
      throw new HallmarkError("invalid_request_error", `days must be 1 to ${MAX_STATS_DAYS}.`, {
        param: "days",
      });
    const stats = await withDatabase(() =>
      dailyStats(db, days, new Date(), c.get("reviewer").tenantIds),
    );
    return c.html(statsPage(c.get("reviewer"), days, stats));
  });

  app.get("/search", async (c) => {
    const filter = parseFilter(c.req.query());
    const query = new URLSearchParams(
      Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === "string"),
    ).toString();
    const before = parseCursor(c.req.query("before"));
    const rows = await withDatabase(() =>
      runSearch(db, filter, PAGE_ROWS, before, "desc", c.get("reviewer").tenantIds),
    );
    const last = rows[PAGE_ROWS - 1];
    const older = last
      ? `${query}${query ? "&" : ""}before=${encodeURIComponent(formatCursor(last))}`
      : null;
    return c.html(searchPage(c.get("reviewer"), filter, query, rows, older));
  });

  /** The item, within the reviewer's tenant scope (outside it: 404, as for an unknown id). */
  const item = async (c: Context<ReviewEnv>, id: string) => {
    if (!UUID.test(id)) throw new HallmarkError("invalid_request_error", "Not a generation id.");
    const found = await withDatabase(() => loadItem(db, id, c.get("reviewer").tenantIds));
    if (!found) throw new HallmarkError("not_found", `No generation ${id}.`);
    return found;
  };
  app.get("/g/:id", async (c) => {
    const found = await item(c, c.req.param("id"));
    const live = await withDatabase(() => validateKept(db, deps.provenance ?? {}, found.id));
    return c.html(itemPage(c.get("reviewer"), found, undefined, live));
  });
  app.post("/g/:id/decide", async (c) => {
    const id = c.req.param("id");
    await item(c, id);
    const form = await readForm(c);
    const decision = REVIEW_DECISIONS.find((d) => d === form.decision);
    const note = typeof form.note === "string" ? form.note.trim() : "";
    if (!decision)
      throw new HallmarkError("invalid_request_error", "Choose approve or reject.", {
        param: "decision",
      });
    if (note.length === 0)
      throw new HallmarkError("invalid_request_error", "A reason is required.", { param: "note" });
    if (note.includes("\u0000"))
      throw new HallmarkError("invalid_request_error", "The note contains NUL.", { param: "note" });
    if (note.length > MAX_NOTE_LENGTH)
      throw new HallmarkError(
        "invalid_request_error",
        `The note exceeds ${MAX_NOTE_LENGTH} characters.`,
        {
          param: "note",
        },
      );
    await recordReview(db, {
      generationId: id,
      reviewerKeyId: c.get("reviewer").apiKeyId,
      reviewer: c.get("reviewer").username,
      decision,
      note,
    });
    return c.redirect(`/review/g/${id}`, 303);
  });

  const exporter = (format: "csv" | "jsonl") => async (c: import("hono").Context<ReviewEnv>) => {
    const filter = parseFilter(c.req.query());
    const encoder = new TextEncoder();
    const rows = searchAll(db, filter, c.get("reviewer").tenantIds);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        if (format === "csv") controller.enqueue(encoder.encode(csvHeader()));
      },
      async pull(controller) {
        const next = await rows.next();
        if (next.done) return controller.close();
        controller.enqueue(
          encoder.encode(format === "csv" ? csvLine(next.value) : jsonLine(next.value)),
        );
      },
      async cancel() {
        await rows.return(undefined);
      },
    });
    const type = format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
    return c.body(body, 200, {
      "content-type": type,
      "content-disposition": `attachment; filename="hallmark-review.${format}"`,
    });
  };
  app.get("/export.csv", exporter("csv"));
  app.get("/export.jsonl", exporter("jsonl"));

  return app;
}
