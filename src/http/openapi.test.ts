import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";

describe("GET /openapi.json (pglite)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDatabases()[0]!);
  });
  afterAll(() => gw.close());

  it("is an OpenAPI 3.1 document listing the API's routes with their error responses", async () => {
    const res = await gw.request("/openapi.json", { key: null });
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe("3.1.0");
    // Every API route the app serves under /v1 (except the transparency-log endpoints, whose
    // formats are the C2SP/RFC 6962 ones of docs/audit-log.md) is in the document, with its method.
    const served = new Set(
      gw.runtime.app.routes
        .filter((r) => r.path.startsWith("/v1/") && !r.path.startsWith("/v1/log/"))
        // Middleware entries (method ALL, or wildcard paths) are not routes.
        .filter((r) => r.method !== "ALL" && !r.path.includes("*"))
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    const documented = new Set(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`),
      ),
    );
    expect(served.size).toBeGreaterThanOrEqual(6);
    expect([...served].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
    const generate = doc.paths["/v1/images/generations"].post;
    expect(Object.keys(generate.responses)).toEqual(
      expect.arrayContaining(["200", "400", "401", "413", "429", "503"]),
    );
    expect(doc.components.schemas.ImageGenerationRequest.properties.prompt.maxLength).toBe(4000);
    expect(doc.components.securitySchemes.bearerAuth.scheme).toBe("bearer");
  });
});
