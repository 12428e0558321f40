import { Command } from "commander";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerReviewerCommands } from "../cli/reviewer.js";
import { reviewSessions, tenants } from "../db/schema.js";
import { reviewers } from "../db/schema-reviewers.js";
import { testDatabases } from "../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { createApiKey } from "../tenants/index.js";
import { createReviewer } from "./accounts.js";
import { hashPassword, verifyPassword } from "./password.js";
import { reviewApp } from "./routes.js";

describe("reviewer passwords (scrypt)", () => {
  it("hashes with a per-account salt and its parameters, and verifies", async () => {
    const a = await hashPassword("correct horse battery");
    const b = await hashPassword("correct horse battery");
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery", a)).toBe(true);
    expect(await verifyPassword("correct horse batterY", a)).toBe(false);
    expect(await verifyPassword("", a)).toBe(false);
  });

  it("refuses malformed or out-of-range stored hashes without throwing", async () => {
    const good = await hashPassword("p");
    const parts = good.split("$");
    for (const bad of [
      "",
      "plain",
      good.replace("scrypt", "bcrypt"),
      [...parts.slice(0, 1), String(2 ** 30), ...parts.slice(2)].join("$"),
      [...parts.slice(0, 1), "1000", ...parts.slice(2)].join("$"),
    ])
      expect(await verifyPassword("p", bad)).toBe(false);
  });
});

describe.each(testDatabases())("reviewer accounts on $name", (testDb) => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway(testDb, {
      HALLMARK_REVIEW_LOGIN_MAX_FAILURES: "3",
      HALLMARK_REVIEW_LOGIN_MAX_FAILURES_PER_IP: "1000",
    });
    await createReviewer(gw.database.db, {
      username: "root",
      role: "admin",
      password: "root-password-1",
    });
    await createReviewer(gw.database.db, {
      username: "rita",
      role: "reviewer",
      password: "rita-password-1",
    });
  }, 180_000);
  afterAll(() => gw?.close());

  const get = (path: string, cookie: string) =>
    gw.request(path, { key: null, headers: { cookie } });
  const post = (path: string, cookie: string, form: Record<string, string>) =>
    gw.request(path, {
      key: null,
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams(form),
    });

  async function login(username: string, password: string) {
    const page = await gw.request("/review/login", { key: null });
    const cookie = page.headers.get("set-cookie")!.split(";")[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    return post("/review/login", cookie, { csrf, username, password });
  }

  async function session(username: string, password: string) {
    const res = await login(username, password);
    expect(res.status).toBe(303);
    const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
    const page = await (await get("/review", cookie)).text();
    return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(page)![1]!, page };
  }

  it("logs in with a password; stores only scrypt hashes; wrong or unknown is 401", async () => {
    const rows = await gw.database.db.select().from(reviewers);
    expect(JSON.stringify(rows)).not.toContain("root-password-1");
    expect((await login("rita", "wrong-password")).status).toBe(401);
    expect((await login("nobody", "whatever-pass")).status).toBe(401);
    expect((await login("rita", "")).status).toBe(400);
    // Names no account can have are failures without a query (NUL would break PostgreSQL).
    for (const name of ["a\u0000b", "a b", "x".repeat(65)])
      expect((await login(name, "whatever-pass")).status, name).toBe(name.length > 64 ? 400 : 401);
    const { page } = await session("RITA", "rita-password-1");
    expect(page).toContain("rita (reviewer)");
    expect(page).not.toContain("/review/admin/reviewers");
  });

  it("rate-limits failed logins per username with 429 and Retry-After", async () => {
    await createReviewer(gw.database.db, {
      username: "target",
      role: "reviewer",
      password: "target-password",
    });
    for (let i = 0; i < 3; i++) expect((await login("target", `guess-${i}`)).status).toBe(401);
    const locked = await login("target", "target-password");
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another replica on the same database is locked too: the failures are in the database.
    const replica = reviewApp({
      db: gw.database.db,
      login: { maxFailures: 3, maxFailuresPerIp: 1000, windowS: 900 },
    });
    const page = await replica.request("http://hallmark.test/login");
    const cookie = page.headers.get("set-cookie")!.split(";")[0]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const elsewhere = await replica.request("http://hallmark.test/login", {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ csrf, username: "target", password: "target-password" }),
    });
    expect(elsewhere.status).toBe(429);
    // Another username is not locked by them.
    expect((await login("rita", "rita-password-1")).status).toBe(303);
  });

  it("keeps the admin pages for admins: 403 for reviewers and review keys", async () => {
    const rita = await session("rita", "rita-password-1");
    expect((await get("/review/admin/reviewers", rita.cookie)).status).toBe(403);
    expect(
      (
        await post("/review/admin/reviewers", rita.cookie, {
          csrf: rita.csrf,
          username: "mallory",
          role: "admin",
        })
      ).status,
    ).toBe(403);
    const key = (await createApiKey(gw.database.db, { tenant: "acme", scopes: ["review"] })).key;
    expect((await gw.request("/review/admin/reviewers", { key })).status).toBe(403);
    const [mallory] = await gw.database.db
      .select()
      .from(reviewers)
      .where(eq(reviewers.username, "mallory"));
    expect(mallory).toBeUndefined();
  });

  it("lets an admin create (CSRF required) and disable accounts; disabling ends sessions", async () => {
    const root = await session("root", "root-password-1");
    expect(root.page).toContain("/review/admin/reviewers");
    expect(
      (await post("/review/admin/reviewers", root.cookie, { username: "x", role: "reviewer" }))
        .status,
    ).toBe(403);
    const created = await post("/review/admin/reviewers", root.cookie, {
      csrf: root.csrf,
      username: "dave",
      role: "reviewer",
    });
    expect(created.status).toBe(200);
    const password = /id="new-password">([^<]+)</.exec(await created.text())![1]!;
    const dave = await session("dave", password);
    expect((await get("/review", dave.cookie)).status).toBe(200);

    for (const bad of [
      { username: "Bad Name!", role: "reviewer" },
      { username: "dave", role: "reviewer" },
      { username: "eve", role: "owner" },
      { username: "eve", role: "reviewer", password: "short" },
    ]) {
      const res = await post("/review/admin/reviewers", root.cookie, {
        csrf: root.csrf,
        ...(bad as Record<string, string>),
      });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect(
      (await post("/review/admin/reviewers/root/disable", root.cookie, { csrf: root.csrf })).status,
    ).toBe(400);
    expect(
      (await post("/review/admin/reviewers/nobody/disable", root.cookie, { csrf: root.csrf }))
        .status,
    ).toBe(404);
    expect(
      (await post("/review/admin/reviewers/a%00b/disable", root.cookie, { csrf: root.csrf }))
        .status,
    ).toBe(400);
    expect(
      (await post("/review/admin/reviewers/dave/disable", root.cookie, { csrf: root.csrf })).status,
    ).toBe(303);
    expect((await get("/review", dave.cookie)).status).toBe(303);
    expect((await login("dave", password)).status).toBe(401);
    await post("/review/admin/reviewers/dave/enable", root.cookie, { csrf: root.csrf });
    expect((await login("dave", password)).status).toBe(303);
    expect((await gw.database.db.select().from(reviewSessions)).length).toBeGreaterThan(0);
  });

  it("lets an account change its own password: the old one asked, other sessions ended", async () => {
    await createReviewer(gw.database.db, {
      username: "paula",
      role: "reviewer",
      password: "paula-password-1",
    });
    const here = await session("paula", "paula-password-1");
    const elsewhere = await session("paula", "paula-password-1");
    expect(here.page).toContain('href="/review/account"');
    const account = await (await get("/review/account", here.cookie)).text();
    expect(account).toContain('action="/review/account/password"');
    const change = (fields: Record<string, string>) =>
      post("/review/account/password", here.cookie, { csrf: here.csrf, ...fields });

    // Refused, and nothing changes: no CSRF token, a wrong current password, a confirmation
    // that differs, the same password again, one too short.
    expect(
      (
        await post("/review/account/password", here.cookie, {
          current: "paula-password-1",
          password: "paula-password-2",
          confirm: "paula-password-2",
        })
      ).status,
    ).toBe(403);
    const wrong = await change({
      current: "not-her-password",
      password: "paula-password-2",
      confirm: "paula-password-2",
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("The current password is wrong.");
    for (const [fields, message] of [
      [{ password: "paula-password-2", confirm: "paula-password-3" }, "differ"],
      [{ password: "paula-password-1", confirm: "paula-password-1" }, "must differ"],
      [{ password: "short", confirm: "short" }, "12 to 256"],
    ] as const) {
      const res = await change({ current: "paula-password-1", ...fields });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(message);
    }
    expect((await get("/review", elsewhere.cookie)).status).toBe(200);

    const ok = await change({
      current: "paula-password-1",
      password: "paula-password-2",
      confirm: "paula-password-2",
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("Password changed");
    // This session goes on; the other one ended; only the new password logs in.
    expect((await get("/review", here.cookie)).status).toBe(200);
    expect((await get("/review", elsewhere.cookie)).status).toBe(303);
    expect((await login("paula", "paula-password-1")).status).toBe(401);
    expect((await login("paula", "paula-password-2")).status).toBe(303);
    const [row] = await gw.database.db
      .select()
      .from(reviewers)
      .where(eq(reviewers.username, "paula"));
    expect(row!.passwordHash).not.toContain("paula-password");

    // Wrong current passwords count as failed logins of the name: a stolen session cannot
    // guess faster than the login form (this gateway allows 3 per username).
    for (let i = 0; i < 3; i++)
      expect(
        (await change({ current: `guess-${i}`, password: "x".repeat(12), confirm: "x".repeat(12) }))
          .status,
      ).toBe(401);
    const locked = await change({
      current: "paula-password-2",
      password: "paula-password-3",
      confirm: "paula-password-3",
    });
    expect(locked.status).toBe(429);
    expect((await login("paula", "paula-password-2")).status).toBe(429);

    // A key has no password: its page says so and the form is refused.
    const key = (await createApiKey(gw.database.db, { tenant: "acme", scopes: ["review"] })).key;
    expect(await (await gw.request("/review/account", { key })).text()).toContain(
      "keys have no password",
    );
    const byKey = await gw.request("/review/account/password", {
      key,
      method: "POST",
      body: new URLSearchParams({
        current: "a",
        password: "b".repeat(12),
        confirm: "b".repeat(12),
      }),
    });
    expect(byKey.status).toBe(403);
  });

  it("lets an admin set which tenants a reviewer sees; refuses unknown tenants and admin scopes", async () => {
    const root = await session("root", "root-password-1");
    await gw.database.db.insert(tenants).values({ name: "globex" }).onConflictDoNothing();
    const create = (fields: Record<string, string>) =>
      post("/review/admin/reviewers", root.cookie, { csrf: root.csrf, ...fields });
    expect(
      (
        await create({
          username: "sam",
          role: "reviewer",
          password: "sam-password-1",
          tenants: "acme, globex",
        })
      ).status,
    ).toBe(200);
    const [sam] = await gw.database.db
      .select()
      .from(reviewers)
      .where(eq(reviewers.username, "sam"));
    expect(sam!.tenantIds).toHaveLength(2);
    for (const [fields, message] of [
      [{ username: "tom", role: "reviewer", tenants: "acme, nowhere" }, "No tenant named nowhere"],
      [{ username: "tom", role: "admin", tenants: "acme" }, "Admins see every tenant"],
    ] as const) {
      const res = await create(fields);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(message);
    }
    expect(
      await gw.database.db.select().from(reviewers).where(eq(reviewers.username, "tom")),
    ).toHaveLength(0);

    const set = (username: string, value: string) =>
      post(`/review/admin/reviewers/${username}/tenants`, root.cookie, {
        csrf: root.csrf,
        tenants: value,
      });
    expect((await set("sam", "nowhere")).status).toBe(400);
    // Names no tenant can have, and too many of them: 400, never a failed query.
    for (const junk of [
      "a\u0000b",
      "acme, A B",
      "x".repeat(1000),
      Array(501)
        .fill("acme")
        .map((a, i) => `${a}${i}`)
        .join(","),
    ])
      expect((await set("sam", junk)).status, junk.slice(0, 20)).toBe(400);
    expect((await set("root", "acme")).status).toBe(400);
    expect((await set("nobody", "acme")).status).toBe(404);
    expect((await set("sam", "globex")).status).toBe(303);
    const page = await (await get("/review/admin/reviewers", root.cookie)).text();
    expect(page).toMatch(/name="tenants" value="globex"/);
    expect((await set("sam", "")).status).toBe(303);
    const [widened] = await gw.database.db
      .select()
      .from(reviewers)
      .where(eq(reviewers.username, "sam"));
    expect(widened!.tenantIds).toBeNull();
    // Only an admin sets scopes (and without the CSRF token, nobody).
    const sam2 = await session("sam", "sam-password-1");
    expect((await set("sam", "acme")).status).toBe(303);
    expect(
      (
        await post("/review/admin/reviewers/sam/tenants", sam2.cookie, {
          csrf: sam2.csrf,
          tenants: "",
        })
      ).status,
    ).toBe(403);
    expect(
      (await post("/review/admin/reviewers/sam/tenants", root.cookie, { tenants: "" })).status,
    ).toBe(403);
  });

  it("lets an admin reset a password: shown once, every session of the account ended", async () => {
    await createReviewer(gw.database.db, {
      username: "olga",
      role: "reviewer",
      password: "olga-password-1",
    });
    const root = await session("root", "root-password-1");
    const olga = await session("olga", "olga-password-1");
    // Not a reviewer's to do, nor a key session's; an admin's own goes through the Account page.
    expect(
      (await post("/review/admin/reviewers/root/reset-password", olga.cookie, { csrf: olga.csrf }))
        .status,
    ).toBe(403);
    expect(
      (await post("/review/admin/reviewers/root/reset-password", root.cookie, { csrf: root.csrf }))
        .status,
    ).toBe(400);
    expect(
      (
        await post("/review/admin/reviewers/nobody/reset-password", root.cookie, {
          csrf: root.csrf,
        })
      ).status,
    ).toBe(404);
    const reset = await post("/review/admin/reviewers/olga/reset-password", root.cookie, {
      csrf: root.csrf,
    });
    expect(reset.status).toBe(200);
    const password = /id="new-password">([^<]+)</.exec(await reset.text())![1]!;
    expect((await get("/review", olga.cookie)).status).toBe(303);
    expect((await login("olga", "olga-password-1")).status).toBe(401);
    expect((await login("olga", password)).status).toBe(303);
    // The page shown to the admin afterwards no longer carries it.
    expect(await (await get("/review/admin/reviewers", root.cookie)).text()).not.toContain(
      password,
    );
  });

  it("hallmark reviewer create | reset-password | list | disable", async () => {
    const out: string[] = [];
    const cli = async (args: string[], stdinPassword = "") => {
      const program = new Command().exitOverride();
      registerReviewerCommands(program, {
        openDatabase: async () => ({ ...gw.database, close: async () => {} }),
        print: (l) => out.push(l),
        readPassword: async () => stdinPassword,
      });
      await program.parseAsync(["node", "hallmark", ...args]);
    };
    await cli(
      ["reviewer", "create", "frank", "--role", "admin", "--password-stdin"],
      "frank-pw-123456",
    );
    expect(out.pop()).toBe("created admin frank");
    expect((await login("frank", "frank-pw-123456")).status).toBe(303);
    await cli(["reviewer", "create", "grace", "--generate"]);
    const generated = out.pop()!;
    expect(out.pop()).toContain("shown only now");
    expect((await login("grace", generated)).status).toBe(303);
    await cli(["reviewer", "reset-password", "grace", "--password-stdin"], "grace-new-pw-12");
    expect(out.pop()).toBe("new password for grace; its sessions ended");
    expect((await login("grace", generated)).status).toBe(401);
    expect((await login("grace", "grace-new-pw-12")).status).toBe(303);
    await cli(["reviewer", "reset-password", "grace", "--generate"]);
    const regenerated = out.pop()!;
    expect((await login("grace", regenerated)).status).toBe(303);
    await expect(cli(["reviewer", "reset-password", "nobody", "--generate"])).rejects.toMatchObject(
      { code: "not_found" },
    );
    await cli(["reviewer", "set-tenants", "grace", "acme"]);
    expect(out.pop()).toBe("grace sees acme");
    await cli(["reviewer", "set-tenants", "grace", "all"]);
    expect(out.pop()).toBe("grace sees every tenant");
    await cli(["reviewer", "create", "ivan", "--tenants", "acme", "--generate"]);
    out.length = 0;
    await cli(["reviewer", "list"]);
    expect(out.find((l) => l.startsWith("ivan\t"))).toContain("tenants acme");
    await expect(
      cli(["reviewer", "create", "judy", "--tenants", "nowhere", "--generate"]),
    ).rejects.toMatchObject({ code: "invalid_request_error" });
    await expect(
      cli(["reviewer", "create", "heidi", "--role", "boss", "--generate"]),
    ).rejects.toMatchObject({
      code: "invalid_request_error",
    });
    await cli(["reviewer", "disable", "grace"]);
    expect((await login("grace", regenerated)).status).toBe(401);
    out.length = 0;
    await cli(["reviewer", "list"]);
    expect(out.find((l) => l.startsWith("grace\t"))).toContain("disabled");
    expect(out.join("\n")).not.toContain("scrypt$");
  });
});
