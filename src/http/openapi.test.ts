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
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/v1/generations/{id}",
        "/v1/images/generations",
        "/v1/moderations",
        "/v1/provenance/verify",
        "/v1/usage",
        "/v1/admin/usage",
      ].sort(),
    );
    const generate = doc.paths["/v1/images/generations"].post;
    expect(Object.keys(generate.responses)).toEqual(
      expect.arrayContaining(["200", "400", "401", "413", "429", "503"]),
    );
    expect(doc.components.schemas.ImageGenerationRequest.properties.prompt.maxLength).toBe(4000);
    expect(doc.components.securitySchemes.bearerAuth.scheme).toBe("bearer");
  });
});
