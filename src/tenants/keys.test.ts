import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/index.js";
import { apiKeys } from "../db/schema.js";
import { testDatabases } from "../db/test-databases.js";
import { bootstrapIfEmpty } from "./bootstrap.js";
import { authenticate, createApiKey, hashKey, listApiKeys, revokeApiKey } from "./keys.js";
import { createTenant } from "./tenants.js";

describe.each(testDatabases())("tenants and keys on $name", ({ open }) => {
  let database: Database;
  beforeAll(async () => {
    database = await open();
  });
  afterAll(() => database.close());

  it("bootstraps once, writing a 0600 key file that authenticates", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hm-boot-"));
    const file = await bootstrapIfEmpty(database.db, dir);
    expect(file).toBe(path.join(dir, "bootstrap-key"));
    expect(statSync(file!).mode & 0o777).toBe(0o600);
    const key = readFileSync(file!, "utf8").trim();
    expect((await authenticate(database.db, key)).tenantName).toBe("default");
    expect(await bootstrapIfEmpty(database.db, dir)).toBeNull();
  });

  it("stores only the hash, authenticates, and refuses after revocation", async () => {
    await createTenant(database.db, "acme");
    const { key, info } = await createApiKey(database.db, { tenant: "acme", label: "ci" });
    expect(key.startsWith("hm_")).toBe(true);
    const rows = await database.db.select().from(apiKeys);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(key);
    expect(stored).toContain(hashKey(key));

    expect((await authenticate(database.db, key)).tenantName).toBe("acme");
    await expect(authenticate(database.db, `${key}x`)).rejects.toMatchObject({
      code: "invalid_api_key",
    });
    expect((await listApiKeys(database.db, { tenant: "acme" })).map((k) => k.prefix)).toEqual([
      info.prefix,
    ]);

    expect(await revokeApiKey(database.db, info.prefix)).toBe(true);
    expect(await revokeApiKey(database.db, info.prefix)).toBe(false);
    await expect(authenticate(database.db, key)).rejects.toMatchObject({ code: "invalid_api_key" });
  });

  it("refuses bad and duplicate tenant names, and keys for unknown tenants", async () => {
    await expect(createTenant(database.db, "Bad Name")).rejects.toMatchObject({
      code: "invalid_request_error",
    });
    await expect(createTenant(database.db, "acme")).rejects.toMatchObject({
      code: "invalid_request_error",
    });
    await expect(createApiKey(database.db, { tenant: "nobody" })).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("gives keys the API scopes by default, others on request, and refuses unknown scopes", async () => {
    await createTenant(database.db, "scoped");
    const plain = await createApiKey(database.db, { tenant: "scoped" });
    expect(plain.info.scopes).toEqual(["generate", "moderate", "verify"]);
    expect((await authenticate(database.db, plain.key)).scopes).toEqual([
      "generate",
      "moderate",
      "verify",
    ]);
    const reviewer = await createApiKey(database.db, {
      tenant: "scoped",
      scopes: ["review", "review", "verify"],
    });
    expect((await authenticate(database.db, reviewer.key)).scopes).toEqual(["review", "verify"]);
    const operator = await createApiKey(database.db, {
      tenant: "scoped",
      scopes: ["admin", "audit-read"],
    });
    expect((await authenticate(database.db, operator.key)).scopes).toEqual(["admin", "audit-read"]);
    for (const scopes of [["root"], ["Admin"], []]) {
      await expect(createApiKey(database.db, { tenant: "scoped", scopes })).rejects.toMatchObject({
        code: "invalid_request_error",
      });
    }
  });

  it("gives a review key a tenant scope when asked, and refuses scopes that cannot hold", async () => {
    await createTenant(database.db, "scope-a");
    await createTenant(database.db, "scope-b");
    const scoped = await createApiKey(database.db, {
      tenant: "scoped",
      scopes: ["review"],
      reviewTenants: ["scope-b", "scope-a", "scope-a"],
    });
    expect(scoped.info.reviewTenants).toEqual(["scope-a", "scope-b"]);
    const principal = await authenticate(database.db, scoped.key);
    expect(principal.reviewTenantIds).toHaveLength(2);
    const listed = (await listApiKeys(database.db, { tenant: "scoped" })).find(
      (k) => k.id === scoped.info.id,
    );
    expect(listed?.reviewTenants).toEqual(["scope-a", "scope-b"]);
    // Without a scope: every tenant (null), as before.
    const open = await createApiKey(database.db, { tenant: "scoped", scopes: ["review"] });
    expect(open.info.reviewTenants).toBeNull();
    expect((await authenticate(database.db, open.key)).reviewTenantIds).toBeNull();

    const count = (await database.db.select().from(apiKeys)).length;
    for (const [scopes, reviewTenants] of <Array<[string[], string[]]>>[
      [["generate"], ["scope-a"]], // only a review key has a review scope
      [["review"], ["nobody"]],
      [["review"], []],
      [["review"], ["bad\u0000name"]],
      [["review"], Array.from({ length: 501 }, (_, i) => `t${i}`)],
    ]) {
      await expect(
        createApiKey(database.db, { tenant: "scoped", scopes, reviewTenants }),
      ).rejects.toMatchObject({ code: "invalid_request_error", param: "review_tenants" });
    }
    expect(await database.db.select().from(apiKeys)).toHaveLength(count);
  });
});
