import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/index.js";
import type { Database } from "../db/index.js";
import { testDatabases } from "../db/test-databases.js";
import { createLogger } from "../log/index.js";
import { createRuntime, type Runtime } from "../runtime/index.js";
import { createApiKey, createTenant } from "../tenants/index.js";

const METRICS_TOKEN = "metrics-token-0123456789";
/** A prompt nobody else would write, so finding it anywhere in the log would be a leak. */
const PROMPT = "a lighthouse at dusk, zebra-quartz-7731 marker";

/** One value of a series in a Prometheus text exposition (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe.each(testDatabases())(
  "operations on $name: logs, metrics, headers, reference",
  (testDb) => {
    let runtime: Runtime;
    let database: Database;
    let key: string;
    const lines: string[] = [];
    const request = (pathname: string, init: RequestInit = {}) =>
      Promise.resolve(runtime.app.request(`http://hallmark.test${pathname}`, init));
    const generate = (prompt: string) =>
      request("/v1/images/generations", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt, size: "256x256" }),
      });

    beforeAll(async () => {
      database = await testDb.open();
      const config = loadConfig({
        HALLMARK_DATA_DIR: mkdtempSync(path.join(tmpdir(), "hm-ops-")),
        HALLMARK_BOOTSTRAP: "false",
        HALLMARK_BACKEND: "placeholder",
        HALLMARK_METRICS_TOKEN: METRICS_TOKEN,
        HALLMARK_CORS_ORIGINS: "https://app.example",
      });
      runtime = await createRuntime(config, {
        logger: createLogger("debug", (line) => lines.push(line)),
        database,
      });
      await createTenant(database.db, "acme");
      ({ key } = await createApiKey(database.db, { tenant: "acme" }));
    }, 240_000);
    afterAll(async () => {
      await runtime.close();
      await database.close();
    });

    it("logs one line per request with id, tenant, route, status, duration and stages; never the key or the prompt", async () => {
      const res = await generate(PROMPT);
      expect(res.status).toBe(200);
      const id = res.headers.get("x-request-id")!;
      const refused = await generate(`explicit porn of a nude woman ${PROMPT}`);
      expect(refused.status).toBe(400);
      const moderated = await request("/v1/moderations", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ input: PROMPT }),
      });
      expect(moderated.status).toBe(200);

      const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const line = entries.find((e) => e.msg === "request" && e.request_id === id)!;
      expect(line).toMatchObject({
        level: "info",
        method: "POST",
        route: "/v1/images/generations",
        status: 200,
      });
      expect(typeof line.tenant_id).toBe("string");
      expect(line.duration_ms as number).toBeGreaterThan(0);
      const stages = line.stages as Array<{ name: string; status: string; ms: number }>;
      expect(stages.map((s) => s.name)).toEqual(
        expect.arrayContaining(["screen_prompt", "generate", "watermark", "c2pa", "record"]),
      );
      const refusal = entries.find(
        (e) => e.msg === "request" && e.request_id === refused.headers.get("x-request-id"),
      )!;
      expect(refusal).toMatchObject({ status: 400, code: "content_policy_violation" });

      const all = lines.join("");
      expect(all).not.toContain(key);
      expect(all).not.toContain(key.slice(0, 12));
      expect(all).not.toContain("zebra-quartz-7731");
    });

    it("censors authorization and cookie headers that a caller passes to the logger", () => {
      const captured: string[] = [];
      const log = createLogger("info", (l) => captured.push(l));
      log.info("oops", {
        headers: { authorization: `Bearer ${key}`, cookie: "hm_review=secret-session" },
        prompt: PROMPT,
      });
      const out = captured.join("");
      expect(out).toContain("[redacted]");
      expect(out).not.toContain(key);
      expect(out).not.toContain("secret-session");
      expect(out).not.toContain("zebra-quartz-7731");
    });

    it("serves /metrics behind its token with request, stage, decision, mark, verify, breaker and queue series", async () => {
      // A generation (allowed, marked), a refusal and a verification of the produced image.
      const res = await generate("a watercolour fox in a field");
      const body = await res.json();
      const image = Buffer.from(body.data[0].b64_json, "base64");
      await generate("explicit porn of a nude woman");
      const verified = await request("/v1/provenance/verify", {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: image,
      });
      expect(verified.status).toBe(200);

      expect((await request("/metrics")).status).toBe(401);
      const wrong = await request("/metrics", { headers: { authorization: "Bearer nope" } });
      expect(wrong.status).toBe(401);
      expect((await wrong.json()).error.code).toBe("invalid_api_key");
      const scraped = await request("/metrics", {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get("content-type")).toContain("text/plain");
      const text = await scraped.text();

      const route = "/v1/images/generations";
      expect(
        sample(text, "hallmark_http_requests_total", { route, status: "200" }),
      ).toBeGreaterThan(0);
      expect(
        sample(text, "hallmark_http_requests_total", { route, status: "400" }),
      ).toBeGreaterThan(0);
      expect(
        sample(text, "hallmark_http_request_duration_seconds_count", { route, status: "200" }),
      ).toBeGreaterThan(0);
      for (const stage of [
        "screen_prompt",
        "generate",
        "screen_output",
        "watermark",
        "c2pa",
        "record",
      ]) {
        expect(
          sample(text, "hallmark_stage_duration_seconds_count", { stage, status: "applied" }),
          stage,
        ).toBeGreaterThan(0);
      }
      expect(
        sample(text, "hallmark_stages_total", { stage: "screen_input", status: "skipped" }),
      ).toBeGreaterThan(0);
      expect(
        sample(text, "hallmark_decisions_total", { action: "allow", category: "none" }),
      ).toBeGreaterThan(0);
      expect(
        sample(text, "hallmark_decisions_total", { action: "block", category: "sexual" }),
      ).toBeGreaterThan(0);
      expect(
        sample(text, "hallmark_marks_total", { mark: "watermark", result: "applied" }),
      ).toBeGreaterThan(0);
      expect(
        sample(text, "hallmark_marks_total", { mark: "c2pa", result: "applied" }),
      ).toBeGreaterThan(0);
      expect(
        sample(text, "hallmark_verify_checks_total", { check: "watermark", outcome: "detected" }),
      ).toBe(1);
      expect(
        sample(text, "hallmark_verify_checks_total", { check: "c2pa", outcome: "trusted" }),
      ).toBe(1);
      expect(
        sample(text, "hallmark_backend_circuit_state", { backend: "placeholder", state: "closed" }),
      ).toBe(1);
      expect(sample(text, "hallmark_queue_depth", { queue: "backend" })).toBe(0);
      expect(text).toContain("process_resident_memory_bytes");
      // Templates, not raw paths: an id in a path never becomes a label value.
      await request("/v1/generations/00000000-0000-4000-8000-000000000000", {
        headers: { authorization: `Bearer ${key}` },
      });
      await request("/no/such/path/123");
      const again = await (
        await request("/metrics", { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
      ).text();
      expect(
        sample(again, "hallmark_http_requests_total", {
          route: "/v1/generations/:id",
          status: "404",
        }),
      ).toBe(1);
      expect(
        sample(again, "hallmark_http_requests_total", { route: "unmatched", status: "404" }),
      ).toBe(1);
      expect(again).not.toContain("00000000-0000-4000-8000-000000000000");
    });

    it("sets secure headers on the API and keeps the review workspace's own CSP", async () => {
      const res = await request("/healthz");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(res.headers.get("strict-transport-security")).toContain("max-age=");
      const review = await request("/review/login");
      expect(review.status).toBe(200);
      expect(review.headers.get("content-security-policy")).toContain("style-src 'unsafe-inline'");
      expect(review.headers.get("content-security-policy")).toContain("form-action 'self'");
      const denied = await generate("");
      expect(denied.headers.get("x-content-type-options")).toBe("nosniff");
    });

    it("answers CORS for the configured origin only", async () => {
      const preflight = await request("/v1/images/generations", {
        method: "OPTIONS",
        headers: {
          origin: "https://app.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
      expect(preflight.headers.get("access-control-allow-headers")).toContain("Authorization");
      const other = await request("/healthz", { headers: { origin: "https://evil.example" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      const foreign = await request("/v1/moderations", {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
      });
      expect(foreign.headers.get("access-control-allow-origin")).not.toBe("https://evil.example");
    });

    it("serves the API reference page and its assets from this origin, with no external URL", async () => {
      const page = await request("/docs");
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
      const csp = page.headers.get("content-security-policy")!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/https?:/);
      const html = await page.text();
      expect(html).not.toMatch(/https?:\/\//);
      expect(html).not.toMatch(/(src|href)="\/\//);
      const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(refs).toEqual(expect.arrayContaining(["/docs/swagger-ui-bundle.js", "/docs/init.js"]));
      for (const ref of refs) {
        const asset = await request(ref);
        expect(asset.status, ref).toBe(200);
        const bytes = Buffer.from(await asset.arrayBuffer());
        expect(bytes.length, ref).toBeGreaterThan(0);
      }
      const init = await (await request("/docs/init.js")).text();
      expect(init).toContain('url: "/openapi.json"');
      expect(init).toContain("validatorUrl: null");
      expect((await request("/docs/swagger-ui.css")).headers.get("content-type")).toContain(
        "text/css",
      );
      expect((await request("/docs/..%2Fpackage.json")).status).toBe(404);
      expect((await request("/docs/index.html")).status).toBe(404);
    });
  },
);
