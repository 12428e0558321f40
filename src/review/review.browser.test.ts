/**
 * Browser tests of the reviewers' workspace: Debian's chromium driven by playwright-core
 * (which downloads no browser), headless, against a real gateway on loopback. `.ci/run`
 * installs chromium when it is missing. Screenshots go to a temporary folder (their path is
 * printed with HALLMARK_REVIEW_SCREENSHOTS-free default: see `shots` below).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { serve } from "@hono/node-server";
import { eq } from "drizzle-orm";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reviewDecisions } from "../db/schema.js";
import { auditLogEntries } from "../db/schema-audit.js";
import { testDatabases } from "../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { createReviewer } from "./accounts.js";

const CHROMIUM = "/usr/bin/chromium";
/** The machine's network is closed: these flags stop Chromium's background connections. */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** The default policy holds these for review (docs/review.md, src/jobs/hold.test.ts). */
const HELD_PROMPTS = [
  "a stock photo of a city skyline without watermark",
  "a stock photo of a harbour at dawn without watermark",
];
const ADMIN = { username: "alice", password: "alice-password-1" };
const REVIEWER = { username: "bob", password: "bob-password-123" };

/** Minimal RFC 4180 reader (quoted cells with "" and CRLF) for the downloaded export. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  return rows;
}

describe.each(testDatabases())("review workspace in Chromium on $name", (testDb) => {
  let gw: TestGateway;
  let server: ReturnType<typeof serve>;
  let base: string;
  let context: BrowserContext;
  let profile: string;
  const shots = mkdtempSync(path.join(tmpdir(), `hm-review-shots-${testDb.name}-`));
  const held: string[] = [];
  let allowed = "";

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`).toBe(true);
    gw = await startTestGateway(testDb);
    const db = gw.database.db;
    await createReviewer(db, { ...ADMIN, role: "admin" });
    await createReviewer(db, { ...REVIEWER, role: "reviewer" });
    // Real requests through the pipeline: two held for review, one allowed with an end user.
    for (const prompt of HELD_PROMPTS) {
      const res = await gw.request("/v1/images/generations", {
        json: { prompt, size: "256x256", user: "user-7" },
      });
      const body = await res.json();
      expect(res.status, JSON.stringify(body)).toBe(202);
      held.push(body.id);
    }
    const ok = await gw.request("/v1/images/generations", {
      json: { prompt: "a lighthouse at dusk", size: "256x256", user: "user-42" },
    });
    expect(ok.status).toBe(200);
    allowed = (await ok.json()).hallmark.generation_id;

    server = serve({ fetch: gw.runtime.app.fetch, hostname: "127.0.0.1", port: 0 });
    await new Promise<void>((r) => server.once("listening", () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A fresh profile (--user-data-dir) per run; playwright adds its own automation flags.
    profile = mkdtempSync(path.join(tmpdir(), "hm-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
    });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await gw?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function logIn(page: Page, who: { username: string; password: string }) {
    await context.clearCookies();
    await page.goto(`${base}/review`);
    expect(new URL(page.url()).pathname).toBe("/review/login");
    await page.getByLabel("Username").fill(who.username);
    await page.getByLabel("Password").fill(who.password);
    await page.getByRole("button", { name: "Log in", exact: true }).click();
    await page.waitForLoadState();
  }

  it("refuses a wrong password, then logs in and shows the queue oldest first", async () => {
    const page = await context.newPage();
    await logIn(page, { username: REVIEWER.username, password: "wrong-password-0" });
    await expect(page.getByRole("alert").textContent()).resolves.toContain("Incorrect username");
    await page.screenshot({ path: path.join(shots, "review-login.png") });

    await page.getByLabel("Username").fill(REVIEWER.username);
    await page.getByLabel("Password").fill(REVIEWER.password);
    await page.getByRole("button", { name: "Log in", exact: true }).click();
    await page.waitForURL(`${base}/review`);
    expect(await page.locator("h1").textContent()).toBe("Review queue");
    const cookies = await context.cookies(`${base}/review`);
    const session = cookies.find((c) => c.name === "hm_review");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/review" });
    const links = await page
      .locator("tbody tr td:first-child a")
      .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).pathname));
    expect(links).toEqual(held.map((id) => `/review/g/${id}`));
    // A reviewer has no admin page.
    expect(await page.getByRole("link", { name: "Reviewers" }).count()).toBe(0);
    await page.screenshot({ path: path.join(shots, "review-queue.png"), fullPage: true });
    await page.close();
  });

  it("opens an item, requires a reason, rejects one and approves the other", async () => {
    const page = await context.newPage();
    await logIn(page, REVIEWER);
    await page.locator(`a[href="/review/g/${held[0]}"]`).click();
    await page.waitForURL(`${base}/review/g/${held[0]}`);
    const panel = page.locator("section.panel");
    await expect(panel.textContent()).resolves.toContain("Licence verdict");
    await expect(panel.textContent()).resolves.toContain("C2PA: signed");
    await expect(panel.textContent()).resolves.toContain("mark id");
    // The held image's kept bytes are validated live: signed by the development CA, trusted.
    await expect(panel.textContent()).resolves.toContain(
      "Live C2PA validation of the kept bytes: Trusted",
    );
    await page.screenshot({ path: path.join(shots, "review-item.png"), fullPage: true });

    // Without a reason the browser's own validation keeps the form from being sent.
    await page.locator('input[name="decision"][value="uphold"]').check();
    await page.getByRole("button", { name: "Record decision" }).click();
    expect(page.url()).toBe(`${base}/review/g/${held[0]}`);
    const db = gw.database.db;
    expect(await db.select().from(reviewDecisions)).toHaveLength(0);

    await page
      .locator('textarea[name="note"]')
      .fill("Removing watermarks from stock photos is not allowed.");
    await page.getByRole("button", { name: "Record decision" }).click();
    await page.waitForLoadState();
    await expect(page.locator("main").textContent()).resolves.toContain("rejected (upheld)");

    await page.goto(`${base}/review/g/${held[1]}`);
    await page.locator('input[name="decision"][value="approve"]').check();
    await page.locator('textarea[name="note"]').fill("A licensed client's own watermark.");
    await page.getByRole("button", { name: "Record decision" }).click();
    await page.waitForLoadState();
    await expect(page.locator("main").textContent()).resolves.toContain("approved");

    const rows = await db.select().from(reviewDecisions);
    expect(rows.map((r) => [r.generationId, r.decision]).sort()).toEqual(
      [
        [held[0], "uphold"],
        [held[1], "approve"],
      ].sort(),
    );
    // Each decision is an audit-log entry naming the account.
    for (const r of rows) {
      const [entry] = await db
        .select()
        .from(auditLogEntries)
        .where(eq(auditLogEntries.index, r.logIndex));
      expect(entry?.kind).toBe("review");
    }
    await page.goto(`${base}/review`);
    await expect(page.locator("main").textContent()).resolves.toContain("Nothing here.");
    await page.close();
  });

  it("searches by end user and decision, and downloads the CSV export", async () => {
    const page = await context.newPage();
    await logIn(page, REVIEWER);
    await page.getByRole("link", { name: "Search", exact: true }).click();
    await page.getByLabel("end user").fill("user-42");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/end_user=user-42/);
    const ids = await page
      .locator("tbody tr td:first-child a")
      .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).pathname.split("/").pop()));
    expect(ids).toEqual([allowed]);

    await page.getByLabel("end user").fill("user-7");
    await page.locator('select[name="review"]').selectOption("uphold");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/review=uphold/);
    await page.screenshot({ path: path.join(shots, "review-search.png"), fullPage: true });

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "CSV" }).click(),
    ]);
    expect(download.suggestedFilename()).toBe("hallmark-review.csv");
    const csv = parseCsv(readFileSync(await download.path(), "utf8"));
    expect(csv[0]!.slice(0, 3)).toEqual(["id", "created_at", "tenant"]);
    const header = csv[0]!;
    const rows = csv.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: held[0],
      tenant: "acme",
      end_user: "user-7",
      action: "review",
      review: "uphold",
      review_note: "Removing watermarks from stock photos is not allowed.",
    });
    expect(Number(rows[0]!.review_log_index)).toBeGreaterThan(Number(rows[0]!.log_index));
    await page.close();
  });

  it("lets an admin create and disable accounts; a reviewer gets 403 there", async () => {
    const page = await context.newPage();
    await logIn(page, REVIEWER);
    const refused = await page.goto(`${base}/review/admin/reviewers`);
    expect(refused?.status()).toBe(403);
    await page.context().clearCookies();

    await logIn(page, ADMIN);
    await page.getByRole("link", { name: "Reviewers" }).click();
    await page.getByLabel("username").fill("carol");
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForLoadState();
    const password = await page.locator("#new-password").textContent();
    expect(password).toMatch(/^[\w-]{24}$/);
    await page.screenshot({ path: path.join(shots, "review-admin.png"), fullPage: true });
    const row = page.locator("tr", { hasText: "carol" });
    await row.getByRole("button", { name: "disable" }).click();
    await page.waitForLoadState();
    await expect(page.locator("tr", { hasText: "carol" }).textContent()).resolves.toContain(
      "disabled",
    );
    await page.context().clearCookies();
    await logIn(page, { username: "carol", password: password! });
    expect(new URL(page.url()).pathname).toBe("/review/login");
    await expect(page.getByRole("alert").textContent()).resolves.toContain("disabled");
    await page.close();
  });

  it("keeps its screenshots", () => {
    for (const f of ["review-login.png", "review-queue.png", "review-item.png"])
      expect(existsSync(path.join(shots, f)), f).toBe(true);
    console.log(`review screenshots: ${shots}`);
  });
});
