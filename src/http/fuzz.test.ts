import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";

/**
 * Generated junk thrown at the HTTP layer: whatever arrives, the answer is a 200 or a 4xx in the
 * error shape, never a 500 and never a hang.
 */
describe("HTTP layer under generated junk (pglite)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDatabases()[0]!);
  });
  afterAll(() => gw.close());

  const shaped = fc.record(
    {
      prompt: fc.oneof(
        fc.string({ maxLength: 60 }),
        fc.string({ unit: "binary", maxLength: 60 }),
        fc.integer(),
        fc.constant(null),
        fc.array(fc.string()),
      ),
      n: fc.oneof(fc.integer({ min: -3, max: 10 }), fc.double(), fc.string()),
      size: fc.oneof(fc.constantFrom("256x256", "512x512", "0x0", "99999x99999", ""), fc.string()),
      seed: fc.oneof(fc.integer(), fc.double(), fc.bigInt().map(String)),
      output_format: fc.oneof(fc.constantFrom("png", "jpeg", "webp", "bmp"), fc.string()),
      negative_prompt: fc.string({ unit: "binary", maxLength: 40 }),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  );

  it("generation bodies: 200 or 4xx in the error shape", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(shaped, fc.anything()), async (body) => {
        const res = await gw.request("/v1/images/generations", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body) ?? "null",
        });
        expect([200, 400, 413, 415, 422]).toContain(res.status);
        const json = await res.json();
        if (res.status !== 200) expect(typeof json.error.code).toBe("string");
      }),
      { numRuns: 60 },
    );
  });

  it("raw bytes as JSON, as images and as multipart: never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2048 }),
        fc.constantFrom(
          "application/json",
          "image/png",
          "image/jpeg",
          "application/octet-stream",
          "multipart/form-data; boundary=x",
        ),
        fc.constantFrom("/v1/images/generations", "/v1/moderations", "/v1/provenance/verify"),
        async (bytes, type, path) => {
          const res = await gw.request(path, {
            method: "POST",
            headers: { "content-type": type },
            body: bytes,
          });
          expect(res.status).toBeGreaterThanOrEqual(200);
          expect(res.status).toBeLessThan(500);
          await res.arrayBuffer();
        },
      ),
      { numRuns: 80 },
    );
  });

  it("moderation inputs of any unicode: 200 with one result per input", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: "binary", maxLength: 200 }), { minLength: 1, maxLength: 5 }),
        async (input) => {
          const res = await gw.request("/v1/moderations", { json: { input } });
          expect(res.status).toBe(200);
          expect((await res.json()).results).toHaveLength(input.length);
        },
      ),
      { numRuns: 40 },
    );
  });
});
