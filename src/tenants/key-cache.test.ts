import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/index.js";
import { testDatabases } from "../db/test-databases.js";
import { cachedAuthenticate } from "./key-cache.js";
import { createApiKey, revokeApiKey } from "./keys.js";
import { createTenant } from "./tenants.js";

describe.each(testDatabases())("the API-key cache on $name", ({ open }) => {
  let database: Database;
  let clock = 0;
  const now = () => clock;
  const newKey = async (label: string) => createApiKey(database.db, { tenant: "cache", label });

  beforeAll(async () => {
    database = await open();
    await createTenant(database.db, "cache");
  });
  afterAll(() => database.close());

  it("trusts a key that authenticated for the time set, then asks again (a revoked key is refused)", async () => {
    const auth = cachedAuthenticate(database.db, { ttlMs: 1000, now });
    const { key, info } = await newKey("ttl");
    clock = 10_000;
    expect((await auth(key)).apiKeyId).toBe(info.id);
    expect(await revokeApiKey(database.db, info.id)).toBe(true);
    clock += 999;
    // Within the time set: the bound docs/limits.md states for a revocation.
    expect((await auth(key)).apiKeyId).toBe(info.id);
    clock += 1;
    await expect(auth(key)).rejects.toMatchObject({ code: "invalid_api_key" });
    // A refusal is not remembered as a success either.
    await expect(auth(key)).rejects.toMatchObject({ code: "invalid_api_key" });
  });

  it("with 0 asks the database on every call", async () => {
    const auth = cachedAuthenticate(database.db, { ttlMs: 0, now });
    const { key, info } = await newKey("none");
    expect((await auth(key)).tenantName).toBe("cache");
    await revokeApiKey(database.db, info.id);
    await expect(auth(key)).rejects.toMatchObject({ code: "invalid_api_key" });
  });

  it("never remembers a refusal: a key refused, then created, authenticates at once", async () => {
    const auth = cachedAuthenticate(database.db, { ttlMs: 60_000, now });
    const wrong = "hm_not-a-key-that-exists";
    await expect(auth(wrong)).rejects.toMatchObject({ code: "invalid_api_key" });
    const { key, info } = await newKey("fresh");
    await expect(auth(`${key}x`)).rejects.toMatchObject({ code: "invalid_api_key" });
    expect((await auth(key)).apiKeyId).toBe(info.id);
  });

  it("answers concurrent requests under one key alike, and forgets the oldest key past its size", async () => {
    const auth = cachedAuthenticate(database.db, { ttlMs: 60_000, maxEntries: 2, now });
    const a = await newKey("a");
    const b = await newKey("b");
    const c = await newKey("c");
    const burst = await Promise.all(Array.from({ length: 8 }, () => auth(a.key)));
    expect(new Set(burst.map((p) => p.apiKeyId))).toEqual(new Set([a.info.id]));
    await auth(b.key);
    await auth(c.key); // a is forgotten: the cache holds b and c
    await revokeApiKey(database.db, a.info.id);
    await revokeApiKey(database.db, c.info.id);
    await expect(auth(a.key)).rejects.toMatchObject({ code: "invalid_api_key" });
    // c is still remembered, within its time: the cache's bound, not a lookup.
    expect((await auth(c.key)).apiKeyId).toBe(c.info.id);
  });
});
