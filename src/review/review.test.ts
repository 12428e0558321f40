import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordGeneration } from "../audit/index.js";
import { reviewDecisions, reviewSessions, tenants } from "../db/schema.js";
import { auditLogEntries } from "../db/schema-audit.js";
import { testDatabases } from "../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { createApiKey, createAuthThrottle, revokeApiKey } from "../tenants/index.js";
import { createReviewer, setReviewerTenants } from "./accounts.js";
import { reviewApp } from "./routes.js";

const XSS = `draw <script>alert("x")</script> a nude figure`;
const SHA = "ab".repeat(32);

function decision(action: "allow" | "review" | "block", fired: string[], spans = [] as object[]) {
  const categories: Record<string, object> = {};
  for (const c of ["sexual", "violence", "hate"]) {
    const on = fired.includes(c);
    categories[c] = {
      score: on ? 0.8 : 0,
      review: 0.5,
      block: 0.9,
      action: on ? action : "allow",
      screens: on ? ["prompt"] : [],
      spans: on ? spans : [],
    };
  }
  return { action, fired, categories, policy: { id: "default", hash: "p0" } };
}

describe.each(testDatabases())("reviewers' workspace on $name", (testDb) => {
  let gw: TestGateway;
  let reviewKey: string;
  let reviewKeyPrefix: string;
  const ids = {
    heldXss: randomUUID(),
    heldOther: randomUUID(),
    blocked: randomUUID(),
    ok: randomUUID(),
  };

  async function seed(
    id: string,
    tenant: "acme" | "other",
    prompt: string,
    action: "allow" | "review" | "block",
    fired: string[],
    extra: { spans?: object[]; sha?: string; retention?: "plaintext" | "sha256" } = {},
  ) {
    const db = gw.database.db;
    const [t] = await db.select().from(tenants).where(eq(tenants.name, tenant));
    await recordGeneration(db, {
      id,
      tenantId: t!.id,
      apiKeyId: null,
      endUser: "user-1",
      kind: "generate",
      status: action === "allow" ? "completed" : "refused",
      retention: extra.retention ?? "plaintext",
      prompt,
      params: { size: "256x256", n: 1 },
      model: "m",
      backend: "placeholder",
      action,
      decision: decision(action, fired, extra.spans),
      stages: [{ name: "screen_prompt", status: "applied", ms: 3 }],
      errorCode: action === "allow" ? null : "content_policy_violation",
      images: extra.sha
        ? [
            {
              index: 0,
              sha256: extra.sha,
              mediaType: "image/png",
              width: 256,
              height: 256,
              bytes: 100,
              seed: 1,
              marks: [{ kind: "watermark" }],
              watermarkMarkId: "00ff",
            },
          ]
        : [],
    });
  }

  /** The login form's CSRF cookie and token (double submit). */
  async function loginForm(app: { request: typeof gw.request } = gw) {
    const res = await app.request("/review/login", { key: null });
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await res.text())![1]!;
    return { cookie, csrf };
  }

  async function login(key = reviewKey, headers: Record<string, string> = {}) {
    const form = await loginForm();
    return gw.request("/review/login", {
      key: null,
      method: "POST",
      headers: { ...headers, cookie: form.cookie },
      body: new URLSearchParams({ key, csrf: form.csrf }),
    });
  }

  /** Logs in and returns the cookie header and the session's CSRF token. */
  async function session() {
    const res = await login();
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    const page = await (await get("/review/search", cookie)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    return { cookie, csrf };
  }

  const get = (path: string, cookie: string) =>
    gw.request(path, { key: null, headers: { cookie } });
  const post = (path: string, cookie: string, form: Record<string, string>) =>
    gw.request(path, {
      key: null,
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams(form),
    });

  beforeAll(async () => {
    gw = await startTestGateway(testDb);
    const created = await createApiKey(gw.database.db, { tenant: "acme", scopes: ["review"] });
    reviewKey = created.key;
    reviewKeyPrefix = created.info.prefix;
    // Oldest first, so the queue's newest-first order is: heldOther, heldXss.
    await seed(ids.ok, "acme", "a lighthouse at dusk", "allow", [], { sha: SHA });
    await seed(ids.heldXss, "acme", XSS, "review", ["sexual"], {
      spans: [
        {
          start: XSS.indexOf("nude"),
          end: XSS.indexOf("nude") + 4,
          text: "nude",
          term: "nude",
          source: "lexicon",
          screen: "prompt",
        },
      ],
    });
    await seed(ids.blocked, "other", "something violent", "block", ["violence"]);
    await seed(ids.heldOther, "other", "secret prompt", "review", ["hate"], {
      retention: "sha256",
    });
  }, 180_000);
  afterAll(() => gw?.close());

  it("redirects without a session, and logs in only with a review-scoped key", async () => {
    const anon = await gw.request("/review", { key: null });
    expect(anon.status).toBe(303);
    expect(anon.headers.get("location")).toBe("/review/login");
    expect((await gw.request("/review/login", { key: null })).status).toBe(200);

    expect((await login(gw.key)).status).toBe(403);
    expect((await login(`${reviewKey}x`)).status).toBe(401);
    expect((await login("")).status).toBe(400);

    const ok = await login();
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^hm_review=[\w-]{43};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/review");
    expect(cookie).not.toContain("Secure");
    // Only the hash of the token is stored.
    const token = cookie.split(";")[0]!.split("=")[1]!;
    const stored = JSON.stringify(await gw.database.db.select().from(reviewSessions));
    expect(stored).not.toContain(token);

    // X-Forwarded-Proto counts only with HALLMARK_TRUST_PROXY; an https URL always does.
    const untrusted = await login(reviewKey, { "x-forwarded-proto": "https" });
    expect(untrusted.headers.get("set-cookie")).not.toContain("Secure");
    const behindProxy = reviewApp({ db: gw.database.db, trustProxy: true });
    const viaProxy = {
      request: (p: string, init: RequestInit & { key?: null } = {}) =>
        Promise.resolve(
          behindProxy.request(`http://hallmark.test${p.replace(/^\/review/, "")}`, {
            ...init,
            headers: { "x-forwarded-proto": "https", ...(init.headers as object) },
          }),
        ),
    };
    const form = await loginForm(viaProxy as never);
    expect(form.cookie).toMatch(/^hm_review_login=/);
    const tls = await viaProxy.request("/review/login", {
      method: "POST",
      headers: { cookie: form.cookie },
      body: new URLSearchParams({ key: reviewKey, csrf: form.csrf }),
    });
    expect(tls.status).toBe(303);
    expect(tls.headers.get("set-cookie")).toContain("Secure");
  });

  it("refuses a login without the login form's CSRF token", async () => {
    const form = await loginForm();
    for (const [cookie, csrf] of <Array<[string, string]>>[
      ["", form.csrf],
      [form.cookie, ""],
      [form.cookie, "x".repeat(43)],
      ["hm_review_login=abc", "abc"],
    ]) {
      const res = await gw.request("/review/login", {
        key: null,
        method: "POST",
        headers: cookie ? { cookie } : {},
        body: new URLSearchParams({ key: reviewKey, csrf }),
      });
      expect(res.status, `${cookie} ${csrf}`).toBe(cookie === "hm_review_login=abc" ? 303 : 403);
    }
  });

  it("refuses bearer keys without the review scope with 403, accepts those with it", async () => {
    expect((await gw.request("/review", { key: gw.key })).status).toBe(403);
    expect((await gw.request("/review/export.jsonl", { key: gw.otherKey })).status).toBe(403);
    expect((await gw.request("/review", { key: reviewKey })).status).toBe(200);
  });

  it("refuses an address that sent too many wrong bearer keys with 429, before any lookup", async () => {
    const app = reviewApp({
      db: gw.database.db,
      trustProxy: true,
      authThrottle: createAuthThrottle({ failures: 2, windowMs: 60_000 }),
    });
    const bearer = (key: string, address: string) =>
      app.request("http://hallmark.test/", {
        headers: { authorization: `Bearer ${key}`, "x-forwarded-for": address },
      });
    expect((await bearer("hm_wrong", "203.0.113.5")).status).toBe(401);
    expect((await bearer("hm_wrong", "203.0.113.5")).status).toBe(401);
    expect((await bearer("hm_wrong", "203.0.113.5")).status).toBe(429);
    expect((await bearer(reviewKey, "203.0.113.5")).status).toBe(429);
    expect((await bearer(reviewKey, "198.51.100.2")).status).toBe(200);
  });

  it("lists held and blocked undecided requests of every tenant, oldest first, with scores and spans", async () => {
    const { cookie } = await session();
    const res = await get("/review", cookie);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const page = await res.text();
    expect(page).toContain(ids.heldXss);
    expect(page).toContain(ids.heldOther);
    expect(page).toContain(ids.blocked);
    expect(page).not.toContain(ids.ok);
    expect(page.indexOf(ids.heldXss)).toBeLessThan(page.indexOf(ids.blocked));
    expect(page.indexOf(ids.blocked)).toBeLessThan(page.indexOf(ids.heldOther));
    expect(page).toContain("sexual: 0.80 (review)");
    expect(page).toContain("<mark>nude</mark>");
    // The sha256-retention prompt is not shown, only its hash.
    expect(page).not.toContain("secret prompt");
    expect(page).toContain("not kept; SHA-256");
  });

  it("renders a hostile prompt inert on every page", async () => {
    const { cookie } = await session();
    for (const path of ["/review", `/review/g/${ids.heldXss}`, "/review/search?q=script"]) {
      const page = await (await get(path, cookie)).text();
      expect(page).not.toContain("<script>");
      expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    }
    const reflected = await get(
      `/review/search?tenant=${encodeURIComponent('"><script>x')}`,
      cookie,
    );
    expect(reflected.status).toBe(200);
    expect(await reflected.text()).not.toContain("<script>");
  });

  it("shows an item, refuses a decision without the CSRF token, records one with it in the log", async () => {
    const { cookie, csrf } = await session();
    const item = await (await get(`/review/g/${ids.heldXss}`, cookie)).text();
    expect(item).toContain("Record decision");
    expect(item).toContain("screen_prompt");
    const db = gw.database.db;

    for (const bad of [{}, { csrf: "nope" }] as Array<Record<string, string>>) {
      const res = await post(`/review/g/${ids.heldXss}/decide`, cookie, {
        ...bad,
        decision: "uphold",
        note: "n",
      });
      expect(res.status).toBe(403);
    }
    expect(await db.select().from(reviewDecisions)).toHaveLength(0);

    expect(
      (await post(`/review/g/${ids.heldXss}/decide`, cookie, { csrf, decision: "maybe" })).status,
    ).toBe(400);
    // A reason is required.
    for (const note of ["", "   "]) {
      const res = await post(`/review/g/${ids.heldXss}/decide`, cookie, {
        csrf,
        decision: "uphold",
        note,
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("A reason is required.");
    }
    expect(await db.select().from(reviewDecisions)).toHaveLength(0);

    const res = await post(`/review/g/${ids.heldXss}/decide`, cookie, {
      csrf,
      decision: "uphold",
      note: "<b>explicit</b>",
    });
    expect(res.status).toBe(303);
    const [row] = await db
      .select()
      .from(reviewDecisions)
      .where(eq(reviewDecisions.generationId, ids.heldXss));
    expect(row).toMatchObject({ decision: "uphold", note: "<b>explicit</b>" });
    const [entry] = await db
      .select()
      .from(auditLogEntries)
      .where(and(eq(auditLogEntries.index, row!.logIndex), eq(auditLogEntries.kind, "review")));
    expect(entry?.generationId).toBe(ids.heldXss);
    expect(JSON.parse(Buffer.from(entry!.entry).toString("utf8")).attributes).toEqual({
      decision: "uphold",
    });

    const after = await (await get(`/review/g/${ids.heldXss}`, cookie)).text();
    expect(after).toContain("&lt;b&gt;explicit&lt;/b&gt;");
    expect(after).toContain(`log index ${row!.logIndex}`);
    expect(await (await get("/review", cookie)).text()).not.toContain(ids.heldXss);

    // Once only, and only on held or blocked requests.
    const again = await post(`/review/g/${ids.heldXss}/decide`, cookie, {
      csrf,
      decision: "approve",
      note: "second",
    });
    expect(again.status).toBe(400);
    const notHeld = await post(`/review/g/${ids.ok}/decide`, cookie, {
      csrf,
      decision: "approve",
      note: "fine",
    });
    expect(notHeld.status).toBe(400);
    expect(await db.select().from(reviewDecisions)).toHaveLength(1);
  });

  it("answers bad ids and filters with 4xx", async () => {
    const { cookie } = await session();
    expect((await get("/review/g/not-a-uuid", cookie)).status).toBe(400);
    expect((await get(`/review/g/${randomUUID()}`, cookie)).status).toBe(404);
    for (const q of ["status=nope", "from=yesterday", "sha256=zz", "id=1", "category=%3Cx%3E"]) {
      const res = await get(`/review/search?${q}`, cookie);
      expect(res.status, q).toBe(400);
    }
    expect((await get("/review/export.csv?action=maybe", cookie)).status).toBe(400);
    for (const q of ["q=%00", "tenant=a%00b", "category=%00"]) {
      expect((await get(`/review/search?${q}`, cookie)).status, q).toBe(400);
    }
  });

  it("answers generated junk in filters and forms with 200, 303 or 4xx, never a 500", async () => {
    const { cookie, csrf } = await session();
    const keys = ["tenant", "status", "action", "category", "from", "to", "q", "id", "sha256"];
    const junk = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("%", "'", "\\", "\u0000"));
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...keys, "before", "flagged", "pending"), junk),
        fc.constantFrom("/review/search", "/review/export.jsonl"),
        async (query, path) => {
          const res = await get(`${path}?${new URLSearchParams(query)}`, cookie);
          await res.arrayBuffer();
          expect([200, 400]).toContain(res.status);
        },
      ),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(junk, junk, async (decision, note) => {
        const res = await post(`/review/g/${ids.ok}/decide`, cookie, { csrf, decision, note });
        expect(res.status).toBe(400);
        const nul = await post(`/review/g/${ids.heldOther}/decide`, cookie, {
          csrf,
          decision: "approve",
          note: `${note}\u0000`,
        });
        expect(nul.status).toBe(400);
      }),
      { numRuns: 20 },
    );
  });

  it("searches by tenant, status, action, category, dates, prompt, id and image hash", async () => {
    const { cookie } = await session();
    const found = async (q: string) => {
      const page = await (await get(`/review/search?${q}`, cookie)).text();
      return Object.entries(ids)
        .filter(([, id]) => page.includes(id))
        .map(([name]) => name)
        .sort();
    };
    expect(await found("")).toEqual(["blocked", "heldOther", "heldXss", "ok"]);
    expect(await found("tenant=other")).toEqual(["blocked", "heldOther"]);
    expect(await found("status=completed")).toEqual(["ok"]);
    expect(await found("action=review")).toEqual(["heldOther", "heldXss"]);
    expect(await found("category=violence")).toEqual(["blocked"]);
    expect(await found("q=LIGHTHOUSE")).toEqual(["ok"]);
    expect(await found("q=%25")).toEqual([]);
    expect(await found(`id=${ids.blocked}`)).toEqual(["blocked"]);
    expect(await found(`sha256=${SHA.toUpperCase()}`)).toEqual(["ok"]);
    expect(await found("to=2000-01-01")).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    expect(await found(`from=${today}&to=${today}&action=block`)).toEqual(["blocked"]);
    expect(await found("flagged=1")).toEqual(["blocked", "heldOther", "heldXss"]);
    expect(await found("flagged=1&tenant=acme")).toEqual(["heldXss"]);
    expect(await found("end_user=user-1&tenant=other")).toEqual(["blocked", "heldOther"]);
    expect(await found("end_user=nobody")).toEqual([]);
    expect(await found("review=uphold")).toEqual(["heldXss"]);
    expect(await found("review=none&flagged=1")).toEqual(["blocked", "heldOther"]);
    expect((await get("/review/search?review=maybe", cookie)).status).toBe(400);

    // Pages: rows strictly older than the cursor (time, then id).
    const lines = (await (await get("/review/export.jsonl", cookie)).text()).trim().split("\n");
    const newest = JSON.parse(lines[0]!);
    expect(newest.id).toBe(ids.heldOther);
    const before = encodeURIComponent(`${newest.created_at}_${newest.id}`);
    expect(await found(`before=${before}`)).toEqual(["blocked", "heldXss", "ok"]);
    expect((await get("/review/search?before=yesterday", cookie)).status).toBe(400);
  });

  it("exports a search as CSV and JSON lines with each row's log index", async () => {
    const { cookie } = await session();
    const jsonl = await get("/review/export.jsonl?tenant=acme", cookie);
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers.get("content-type")).toBe("application/x-ndjson");
    const rows = (await jsonl.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.id).sort()).toEqual([ids.heldXss, ids.ok].sort());
    for (const r of rows) {
      const [entry] = await gw.database.db
        .select()
        .from(auditLogEntries)
        .where(eq(auditLogEntries.index, r.log_index));
      expect(entry?.generationId).toBe(r.id);
    }
    const held = rows.find((r) => r.id === ids.heldXss);
    expect(held).toMatchObject({ prompt: XSS, fired: "sexual", review: "uphold" });
    expect(typeof held.review_log_index).toBe("number");

    const csv = await get("/review/export.csv?action=review", cookie);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const text = await csv.text();
    const lines = text.trim().split("\r\n");
    expect(lines[0]).toBe(
      "id,created_at,tenant,end_user,kind,status,action,fired,model,prompt_retention,prompt,prompt_sha256,log_index,review,review_note,review_log_index",
    );
    expect(lines).toHaveLength(3);
    expect(text).toContain(`"draw <script>alert(""x"")</script> a nude figure"`);
    expect(text).not.toContain("secret prompt");

    const bearer = await gw.request("/review/export.csv", { key: reviewKey });
    expect((await bearer.text()).trim().split("\r\n")).toHaveLength(5);
  });

  it("charts flagged requests per day by category, and reviews per day", async () => {
    const { cookie } = await session();
    const res = await get("/review/stats?days=7", cookie);
    expect(res.status).toBe(200);
    const page = await res.text();
    const today = new Date().toISOString().slice(0, 10);
    expect(page).toContain(`<td>${today}</td>`);
    for (const c of ["sexual 1", "violence 1", "hate 1", "uphold 1"]) expect(page).toContain(c);
    for (const days of ["0", "abc", "367", "-1"]) {
      expect((await get(`/review/stats?days=${days}`, cookie)).status, days).toBe(400);
    }
  });

  it("keeps a reviewer account with a tenant scope to those tenants' requests on every page", async () => {
    await createReviewer(gw.database.db, {
      username: "olivia",
      role: "reviewer",
      password: "olivia-password",
      tenants: ["other"],
    });
    const form = await loginForm();
    const res = await gw.request("/review/login", {
      key: null,
      method: "POST",
      headers: { cookie: form.cookie },
      body: new URLSearchParams({
        username: "olivia",
        password: "olivia-password",
        csrf: form.csrf,
      }),
    });
    expect(res.status).toBe(303);
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(
      await (await get("/review", cookie)).text(),
    )![1]!;

    const queue = await (await get("/review", cookie)).text();
    expect(queue).toContain(ids.heldOther);
    expect(queue).toContain(ids.blocked);
    const all = await (await get("/review/search", cookie)).text();
    expect(all).toContain(ids.heldOther);
    for (const id of [ids.ok, ids.heldXss]) expect(all).not.toContain(id);
    // Naming the other tenant, its id or its image hash finds nothing.
    for (const q of ["tenant=acme", `id=${ids.ok}`, `sha256=${SHA}`])
      expect(await (await get(`/review/search?${q}`, cookie)).text(), q).not.toContain(
        `/review/g/${ids.ok}`,
      );
    // Outside the scope an item is not found, as an unknown id is, and cannot be decided.
    expect((await get(`/review/g/${ids.ok}`, cookie)).status).toBe(404);
    const before = await gw.database.db.select().from(reviewDecisions);
    const decide = await post(`/review/g/${ids.heldXss}/decide`, cookie, {
      csrf,
      decision: "approve",
      note: "not mine to decide",
    });
    expect(decide.status).toBe(404);
    expect(await gw.database.db.select().from(reviewDecisions)).toHaveLength(before.length);
    const lines = (await (await get("/review/export.jsonl", cookie)).text()).trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).tenant)).toEqual(["other", "other"]);
    const stats = await (await get("/review/stats?days=7", cookie)).text();
    for (const c of ["violence 1", "hate 1"]) expect(stats).toContain(c);
    for (const c of ["sexual 1", "uphold 1"]) expect(stats).not.toContain(c);

    // The scope is read at each request: widened, the same session sees every tenant.
    await setReviewerTenants(gw.database.db, "olivia", null);
    expect((await get(`/review/g/${ids.ok}`, cookie)).status).toBe(200);
  });

  it("keeps a review key with a tenant scope to those tenants, by bearer and by key login", async () => {
    const { key, info } = await createApiKey(gw.database.db, {
      tenant: "acme",
      scopes: ["review"],
      reviewTenants: ["other"],
    });
    expect(info.reviewTenants).toEqual(["other"]);
    // By bearer (scripts): search, item, export.
    const bearer = (path: string) => gw.request(path, { key });
    const all = await (await bearer("/review/search")).text();
    expect(all).toContain(ids.heldOther);
    for (const id of [ids.ok, ids.heldXss]) expect(all).not.toContain(id);
    expect((await bearer(`/review/g/${ids.ok}`)).status).toBe(404);
    expect((await bearer(`/review/g/${ids.heldOther}`)).status).toBe(200);
    const lines = (await (await bearer("/review/export.jsonl")).text()).trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).tenant)).toEqual(["other", "other"]);
    const before = await gw.database.db.select().from(reviewDecisions);
    const decide = await gw.request(`/review/g/${ids.heldXss}/decide`, {
      key,
      method: "POST",
      body: new URLSearchParams({ decision: "approve", note: "not this key's tenant" }),
    });
    expect(decide.status).toBe(404);
    expect(await gw.database.db.select().from(reviewDecisions)).toHaveLength(before.length);
    // By the login page's key form: the session has the key's scope.
    const res = await login(key);
    expect(res.status).toBe(303);
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    expect((await get(`/review/g/${ids.ok}`, cookie)).status).toBe(404);
    const queue = await (await get("/review", cookie)).text();
    expect(queue).toContain(ids.heldOther);
    expect(queue).not.toContain(ids.heldXss);
    // The unscoped review key still sees every tenant.
    expect((await gw.request(`/review/g/${ids.ok}`, { key: reviewKey })).status).toBe(200);
  });

  it("shows what was asked: a variation's kind, its input and what the input screen found", async () => {
    const db = gw.database.db;
    const [t] = await db.select().from(tenants).where(eq(tenants.name, "acme"));
    const id = randomUUID();
    const inputSha = "cd".repeat(32);
    await recordGeneration(db, {
      id,
      tenantId: t!.id,
      apiKeyId: null,
      endUser: "user-2",
      kind: "variation",
      status: "refused",
      retention: "plaintext",
      prompt: "",
      params: { size: "256x256", n: 1, inputs: [{ sha256: inputSha, media_type: "image/jpeg" }] },
      model: "m",
      backend: "placeholder",
      action: "review",
      decision: {
        ...decision("review", ["sexual"]),
        prompt: null,
        input: [
          {
            sha256: inputSha,
            media_type: "image/jpeg",
            width: 640,
            height: 480,
            sexual: 0.61,
            faces: 2,
            pdq: { hash: "ef".repeat(32), quality: 90 },
            hashListMatches: [],
          },
        ],
      },
      stages: [
        { name: "screen_prompt", status: "skipped", ms: 0, note: "a variation has no prompt" },
      ],
      errorCode: "content_policy_violation",
      images: [],
    });
    const { cookie } = await session();
    const search = async (q: string) => (await get(`/review/search?${q}`, cookie)).text();
    expect(await search("kind=variation")).toContain(id);
    expect(await search("kind=generate")).not.toContain(id);
    expect(await search("kind=edit")).not.toContain(id);
    expect((await get("/review/search?kind=remix", cookie)).status).toBe(400);
    const page = await (await get(`/review/g/${id}`, cookie)).text();
    expect(page).toContain("variation of an uploaded image");
    expect(page).toContain("<h2>Input images</h2>");
    expect(page).toContain(inputSha);
    expect(page).toContain("0.610");
    // A generation has no input panel.
    expect(await (await get(`/review/g/${ids.ok}`, cookie)).text()).not.toContain("Input images");
    const rows = (await (await get("/review/export.jsonl?kind=variation", cookie)).text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.id, r.kind])).toEqual([[id, "variation"]]);
  });

  it("logs out, and a revoked key's session ends", async () => {
    const { cookie, csrf } = await session();
    expect((await post("/review/logout", cookie, {})).status).toBe(403);
    const out = await post("/review/logout", cookie, { csrf });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(/hm_review=;/);
    expect((await get("/review", cookie)).status).toBe(303);

    const expiring = await session();
    expect((await get("/review", expiring.cookie)).status).toBe(200);
    await gw.database.db.update(reviewSessions).set({ expiresAt: new Date(Date.now() - 1000) });
    expect((await get("/review", expiring.cookie)).status).toBe(303);

    const second = await session();
    expect((await get("/review", second.cookie)).status).toBe(200);
    await revokeApiKey(gw.database.db, reviewKeyPrefix);
    expect((await get("/review", second.cookie)).status).toBe(303);
  });
});
