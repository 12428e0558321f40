import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generations } from "../../db/schema.js";
import { auditLogEntries } from "../../db/schema-audit.js";
import { generationOutputs, idempotencyKeys } from "../../db/schema-jobs.js";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { createApiKey, revokeApiKey } from "../../tenants/index.js";
import { parseKey } from "./idempotency.js";
import { requestFingerprint } from "./idempotency-store.js";

const body = { prompt: "a lighthouse at dusk", size: "256x256", seed: 11 };

describe("Idempotency-Key parsing and fingerprints", () => {
  it("accepts sf-strings and bare tokens, refuses the rest", () => {
    expect(parseKey('"abc-123"')).toBe("abc-123");
    expect(parseKey("8e03978e-40d5-43e8-bc93-6894a57f9324")).toBe(
      "8e03978e-40d5-43e8-bc93-6894a57f9324",
    );
    for (const bad of ["", '""', "a b", "x".repeat(256), '"unterminated', "caf\u00e9"]) {
      expect(() => parseKey(bad), bad).toThrow(/Idempotency-Key/);
    }
  });

  it("does not depend on JSON key order or spacing, nor on the multipart boundary", async () => {
    const enc = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
    const a = await requestFingerprint("POST", "/p", "application/json", enc('{"a":1,"b":[1,2]}'));
    const b = await requestFingerprint(
      "POST",
      "/p",
      "application/json; charset=utf-8",
      enc('{ "b": [1, 2], "a": 1 }'),
    );
    expect(a).toBe(b);
    expect(
      await requestFingerprint("POST", "/q", "application/json", enc('{"a":1,"b":[1,2]}')),
    ).not.toBe(a);
    const form = (boundary: string) =>
      enc(
        `--${boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nfox\r\n--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nPNGDATA\r\n--${boundary}--\r\n`,
      );
    const f1 = await requestFingerprint(
      "POST",
      "/e",
      "multipart/form-data; boundary=AAA",
      form("AAA"),
    );
    const f2 = await requestFingerprint(
      "POST",
      "/e",
      "multipart/form-data; boundary=BBB",
      form("BBB"),
    );
    expect(f1).toBe(f2);
  });
});

describe.each(testDatabases())(
  "Idempotency-Key on POST /v1/images/generations on $name",
  (testDb) => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(testDb);
    });
    afterAll(() => gw.close());

    const post = (key: string | null, json: unknown, apiKey?: string) =>
      gw.request("/v1/images/generations", {
        json,
        key: apiKey,
        headers: key === null ? {} : { "Idempotency-Key": key },
      });

    async function logEntries(id: string): Promise<number> {
      const rows = await gw.database.db
        .select({ n: sql<number>`count(*)::int` })
        .from(auditLogEntries)
        .where(eq(auditLogEntries.generationId, id));
      return rows[0]!.n;
    }

    it("replays the first response, images included, and records one generation", async () => {
      const first = await post("key-1", body);
      expect(first.status).toBe(200);
      const a = await first.json();
      const again = await post("key-1", { size: "256x256", seed: 11, prompt: body.prompt });
      expect(again.status).toBe(200);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      const b = await again.json();
      expect(b.hallmark.generation_id).toBe(a.hallmark.generation_id);
      expect(b.data[0].b64_json).toBe(a.data[0].b64_json);
      expect(b.hallmark.log_index).toBe(a.hallmark.log_index);
      const id = a.hallmark.generation_id;
      expect(await logEntries(id)).toBe(1);
      const rows = await gw.database.db.select().from(generations).where(eq(generations.id, id));
      expect(rows).toHaveLength(1);
      // The key's row holds no image bytes; the output store holds them sealed.
      const [key] = await gw.database.db.select().from(idempotencyKeys);
      expect(JSON.stringify(key!.response)).not.toContain(a.data[0].b64_json.slice(0, 40));
      const stored = await gw.database.db
        .select()
        .from(generationOutputs)
        .where(eq(generationOutputs.generationId, id));
      expect(stored).toHaveLength(1);
      // GET serves the kept images too.
      const got = await (await gw.request(`/v1/generations/${id}`)).json();
      expect(got.status).toBe("completed");
      expect(got.data[0].b64_json).toBe(a.data[0].b64_json);
    });

    it("answers 422 idempotency_key_reused for the same key with another body", async () => {
      expect((await post("key-2", body)).status).toBe(200);
      const res = await post("key-2", { ...body, prompt: "a red fox" });
      expect(res.status).toBe(422);
      expect((await res.json()).error).toMatchObject({
        code: "idempotency_key_reused",
        param: "Idempotency-Key",
      });
    });

    it("scopes keys per tenant: another tenant's same key is a new request", async () => {
      const mine = await (await post("shared-key", body)).json();
      const theirs = await post("shared-key", body, gw.otherKey);
      expect(theirs.status).toBe(200);
      expect(theirs.headers.get("idempotent-replayed")).toBeNull();
      expect((await theirs.json()).hallmark.generation_id).not.toBe(mine.hallmark.generation_id);
    });

    it("answers 409 with Retry-After while the first request is in progress", async () => {
      const [acme] = await gw.database.db.query.tenants.findMany({
        where: (t, { eq: e }) => e(t.name, "acme"),
      });
      const { sha256Hex } = await import("./idempotency-store.js");
      const { requestFingerprint: fp } = await import("./idempotency-store.js");
      const text = JSON.stringify(body);
      await gw.database.db.insert(idempotencyKeys).values({
        tenantId: acme!.id,
        keyHash: sha256Hex("busy"),
        requestHash: await fp(
          "POST",
          "/v1/images/generations",
          "application/json",
          new TextEncoder().encode(text).buffer as ArrayBuffer,
        ),
        state: "in_progress",
        generationId: crypto.randomUUID(),
        expiresAt: new Date(Date.now() + 3600_000),
      });
      const res = await post("busy", body);
      expect(res.status).toBe(409);
      expect(res.headers.get("retry-after")).toBe("2");
      expect((await res.json()).error.code).toBe("idempotency_key_in_use");
    });

    it("takes over an abandoned key; if its request had recorded, answers 303 to the record", async () => {
      const first = await (await post("crash-1", body)).json();
      const id = first.hallmark.generation_id;
      // Simulate a crash after recording: the key still in progress, locked long ago.
      await gw.database.db
        .update(idempotencyKeys)
        .set({ state: "in_progress", response: null, lockedAt: new Date(Date.now() - 3600_000) })
        .where(eq(idempotencyKeys.generationId, id));
      const res = await post("crash-1", body);
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(`/v1/generations/${id}`);
      expect(await logEntries(id)).toBe(1);
    });

    it("takes over an abandoned key whose request never recorded: generates under its id", async () => {
      const [acme] = await gw.database.db.query.tenants.findMany({
        where: (t, { eq: e }) => e(t.name, "acme"),
      });
      const { sha256Hex, requestFingerprint: fp } = await import("./idempotency-store.js");
      const promised = crypto.randomUUID();
      await gw.database.db.insert(idempotencyKeys).values({
        tenantId: acme!.id,
        keyHash: sha256Hex("crash-2"),
        requestHash: await fp(
          "POST",
          "/v1/images/generations",
          "application/json",
          new TextEncoder().encode(JSON.stringify(body)).buffer as ArrayBuffer,
        ),
        state: "in_progress",
        generationId: promised,
        lockedAt: new Date(Date.now() - 3600_000),
        expiresAt: new Date(Date.now() + 3600_000),
      });
      const res = await post("crash-2", body);
      expect(res.status).toBe(200);
      expect((await res.json()).hallmark.generation_id).toBe(promised);
      expect(await logEntries(promised)).toBe(1);
    });

    it("lets an expired key start afresh, even with another body", async () => {
      const a = await (await post("expiring", body)).json();
      await gw.database.db
        .update(idempotencyKeys)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(idempotencyKeys.generationId, a.hallmark.generation_id));
      const b = await post("expiring", { ...body, prompt: "another request entirely" });
      expect(b.status).toBe(200);
      expect((await b.json()).hallmark.generation_id).not.toBe(a.hallmark.generation_id);
    });

    it("replays a refusal too (4xx), without a second audit entry", async () => {
      const refused = { prompt: "n.u.d.e photo of a person", size: "256x256" };
      const first = await post("refusal", refused);
      expect(first.status).toBe(400);
      const e1 = (await first.json()).error;
      const again = await post("refusal", refused);
      expect(again.status).toBe(400);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      const e2 = (await again.json()).error;
      expect(e2.generation_id).toBe(e1.generation_id);
      expect(await logEntries(e1.generation_id)).toBe(1);
    });

    it("refuses a malformed key with 400 and leaves security to auth (401, revoked, scope)", async () => {
      const bad = await post("has space", body);
      expect(bad.status).toBe(400);
      expect((await bad.json()).error.param).toBe("Idempotency-Key");
      expect((await post("k", body, null as unknown as string)).status).toBe(401);
      const { key, info } = await createApiKey(gw.database.db, { tenant: "acme" });
      await revokeApiKey(gw.database.db, info.id);
      expect((await post("k", body, key)).status).toBe(401);
      const { key: moderateOnly } = await createApiKey(gw.database.db, {
        tenant: "acme",
        scopes: ["moderate"],
      });
      expect((await post("k", body, moderateOnly)).status).toBe(403);
    });
  },
);
