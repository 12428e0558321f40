import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";

/** Debian's chromium, driven by playwright-core (no browser download). */
const CHROMIUM = "/usr/bin/chromium";

/**
 * The reference page in a real browser: Swagger UI renders the gateway's OpenAPI document under
 * the page's CSP (no violation reported), and the browser asks nothing of any other origin.
 */
describe("GET /docs in a browser (pglite)", () => {
  let gw: TestGateway;
  let server: ReturnType<typeof serve>;
  let origin: string;
  beforeAll(async () => {
    gw = await startTestGateway(testDatabases()[0]!);
    server = serve({ fetch: gw.runtime.app.fetch, hostname: "127.0.0.1", port: 0 });
    await new Promise((resolve) => server.once("listening", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 240_000);
  afterAll(async () => {
    server?.close();
    await gw?.close();
  });

  it("renders every operation from /openapi.json with no CSP violation and no external request", async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const page = await browser.newPage();
      const messages: string[] = [];
      const requests: string[] = [];
      page.on("console", (m) => messages.push(`${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}`));
      page.on("request", (r) => requests.push(r.url()));
      await page.goto(`${origin}/docs`);
      await page.waitForSelector(".swagger-ui .info .title", { timeout: 60_000 });
      expect(await page.textContent(".swagger-ui .info .title")).toContain("Hallmark");
      const doc = (await (await gw.request("/openapi.json", { key: null })).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const operations = Object.values(doc.paths).reduce((n, p) => n + Object.keys(p).length, 0);
      expect(await page.locator(".opblock").count()).toBe(operations);
      expect(messages.filter((m) => /Content Security Policy|error/i.test(m))).toEqual([]);
      expect(requests.filter((u) => !u.startsWith(origin))).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
