import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/index.js";
import { testDatabases } from "../db/test-databases.js";
import { createTenant } from "../tenants/index.js";
import { contentHash } from "./merge.js";
import { createPolicyStore, type PolicyStore } from "./store.js";
import {
  getTenantSettings,
  listTenantPolicyVersions,
  setTenantPolicy,
  setTenantSettings,
} from "./tenant-store.js";

const DEFAULT = new URL("../../policies/default.yaml", import.meta.url).pathname;
const silent = { info() {}, warn() {}, error() {} };

describe.each(testDatabases())("tenant policies and declarations ($name)", (testDb) => {
  let database: Database;
  let store: PolicyStore;
  let clock = 0;
  let acme: { id: string; name: string };

  beforeAll(async () => {
    database = await testDb.open();
    acme = await createTenant(database.db, "acme");
    await createTenant(database.db, "other");
    store = await createPolicyStore({
      policyFile: DEFAULT,
      db: database.db,
      logger: silent,
      cacheMs: 1000,
      now: () => clock,
    });
  });
  afterAll(() => database.close());

  it("a tenant without an override gets the base policy", async () => {
    const { policy, settings } = await store.forTenant(acme);
    expect(policy).toBe(store.current());
    expect(policy.tenant).toBeUndefined();
    expect(settings).toBeNull();
  });

  it("versions an override with a canonical hash of the merged policy, author and comment", async () => {
    const v1 = await setTenantPolicy(database.db, store.base, {
      tenant: "acme",
      text: "categories:\n  sexual: { review: 0.3 }\n",
      author: "alice",
      comment: "stricter on suggestive images",
    });
    expect(v1).toMatchObject({ version: 1, base: "default", author: "alice" });
    expect(v1.baseHash).toBe(store.current().hash);
    expect(v1.hash).toMatch(/^[0-9a-f]{64}$/);
    // The same merged content written as JSON, in another key order: the same hash.
    const v2 = await setTenantPolicy(database.db, store.base, {
      tenant: "acme",
      text: '{"categories": {"sexual": {"review": 0.3}}, "base": "default"}',
      author: "bob",
    });
    expect(v2.version).toBe(2);
    expect(v2.hash).toBe(v1.hash);
    const v3 = await setTenantPolicy(database.db, store.base, {
      tenant: "acme",
      text: "categories:\n  sexual: { review: 0.3, block: 0.6 }\n",
      author: "carol",
      comment: "block earlier",
    });
    expect(v3.hash).not.toBe(v1.hash);
    const list = await listTenantPolicyVersions(database.db, "acme");
    expect(list.map((v) => [v.version, v.author, v.comment])).toEqual([
      [3, "carol", "block earlier"],
      [2, "bob", ""],
      [1, "alice", "stricter on suggestive images"],
    ]);
    expect(await listTenantPolicyVersions(database.db, "other")).toEqual([]);
  });

  it("serves the merged policy once the cache is stale, with its id, version and hash", async () => {
    clock += 5000;
    const { policy } = await store.forTenant(acme);
    expect(policy.id).toBe("default+acme.v3");
    expect(policy.categories.sexual).toEqual({ review: 0.3, block: 0.6 });
    expect(policy.categories.violence).toEqual(store.current().categories.violence);
    expect(policy.tenant).toMatchObject({ version: 3, base: { id: "default" } });
    const [latest] = await listTenantPolicyVersions(database.db, "acme", 1);
    expect(policy.hash).toBe(latest!.hash);
    const { tenant: _t, hash: _h, source: _s, ...content } = policy;
    expect(contentHash({ ...content, id: "default" })).not.toBe(""); // hashable
  });

  it("another replica's change is seen once the TTL has passed (cheap stamp check)", async () => {
    const before = (await store.forTenant(acme)).policy;
    // As if another replica (or the CLI) wrote: this store was not told.
    await setTenantPolicy(database.db, store.base, {
      tenant: "acme",
      text: "categories:\n  violence: { review: 0.2, block: 0.4 }\n",
      author: "dave",
    });
    expect((await store.forTenant(acme)).policy).toBe(before); // within the TTL
    clock += 1001;
    const after = (await store.forTenant(acme)).policy;
    expect(after.id).toBe("default+acme.v4");
    expect(after.categories.violence).toEqual({ review: 0.2, block: 0.4 });
    // Objects merge key by key: v4 replaces v3, it does not stack on it.
    expect(after.categories.sexual).toEqual(store.current().categories.sexual);
  });

  it("rejects a bad override with the line and what was expected, and writes nothing", async () => {
    const bad = [
      ["categories:\n  sexual: { review: 1.5 }\n", /override:2: categories\.sexual/],
      ["categories:\n  nonsense: { review: 0.1 }\n", /nonsense/],
      ["marks:\n  watermark: optional\non_failure:\n  c2pa: open\n", /on_failure\.c2pa/],
      ["categories:\n  sexual: { review: 0.9, block: 0.8 }\n", /must not exceed/],
      ["base: nope\n", /No base policy "nope"/],
      ["rules:\n  - { id: x, category: sexual, regex: ['('] }\n", /not a valid regular/],
      ["id: mine\n", /id|Unrecognized/],
    ] as const;
    for (const [text, message] of bad) {
      await expect(
        setTenantPolicy(database.db, store.base, { tenant: "acme", text, author: "eve" }),
      ).rejects.toThrow(message);
    }
    expect((await listTenantPolicyVersions(database.db, "acme"))[0]!.version).toBe(4);
    await expect(
      setTenantPolicy(database.db, store.base, { tenant: "nobody", text: "{}", author: "eve" }),
    ).rejects.toMatchObject({ code: "not_found" });
  });

  it("versions are append-only: UPDATE and DELETE are refused by the database", async () => {
    await setTenantPolicy(database.db, store.base, { tenant: "other", text: "{}", author: "x" });
    const refused = async (statement: ReturnType<typeof sql>) => {
      const error = await database.db.execute(statement).then(
        () => null,
        (e: Error & { cause?: Error }) => e,
      );
      return `${error?.message ?? ""} ${error?.cause?.message ?? ""}`;
    };
    expect(await refused(sql`update tenant_policy_versions set author = 'mallory'`)).toMatch(
      /append-only: UPDATE refused/,
    );
    expect(await refused(sql`delete from tenant_policy_versions`)).toMatch(
      /append-only: DELETE refused/,
    );
  });

  it("a reload whose new base a tenant's latest override no longer fits is rejected", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hm-reload-"));
    const file = path.join(dir, "default.yaml");
    const text = await readFile(DEFAULT, "utf8");
    await writeFile(file, text);
    const errors: string[] = [];
    const own = await createPolicyStore({
      policyFile: file,
      db: database.db,
      logger: {
        ...silent,
        error: (_m: string, f?: Record<string, unknown>) => errors.push(String(f?.error)),
      },
    });
    const t = await createTenant(database.db, "reloader");
    await setTenantPolicy(database.db, own.base, {
      tenant: "reloader",
      text: "categories:\n  sexual: { review: 0.65 }\n",
      author: "x",
    });
    // Valid on its own, but it would put reloader's review (0.65) above its block (0.6).
    await writeFile(
      file,
      text.replace(
        /sexual: +\{ review: 0\.5, block: 0\.7 \}/,
        "sexual: { review: 0.5, block: 0.6 }",
      ),
    );
    const before = own.current();
    expect((await own.reload("test")).ok).toBe(false);
    expect(own.current()).toBe(before);
    expect(errors[0]).toMatch(/reloader v1: categories\.sexual: review threshold must not exceed/);
    expect((await own.forTenant(t)).policy.categories.sexual).toEqual({ review: 0.65, block: 0.7 });
  });

  it("stores declarations; the first names the use; revisions grow; bad values are 400s", async () => {
    await expect(
      setTenantSettings(database.db, { tenant: "acme", annualRevenueUsd: 5, author: "a" }),
    ).rejects.toMatchObject({ code: "invalid_request_error", param: "use" });
    const s1 = await setTenantSettings(database.db, {
      tenant: "acme",
      use: "commercial",
      annualRevenueUsd: 2_000_000,
      outputTerms: "royalty-free standard licence",
      author: "alice",
    });
    expect(s1).toMatchObject({ use: "commercial", annualRevenueUsd: 2_000_000, revision: 1 });
    const s2 = await setTenantSettings(database.db, {
      tenant: "acme",
      annualRevenueUsd: 900_000,
      author: "bob",
    });
    expect(s2).toMatchObject({
      use: "commercial",
      annualRevenueUsd: 900_000,
      outputTerms: "royalty-free standard licence",
      revision: 2,
      updatedBy: "bob",
    });
    for (const bad of [
      { use: "sometimes" },
      { annualRevenueUsd: -1 },
      { annualRevenueUsd: 1.5 },
      { outputTerms: "x".repeat(1001) },
    ]) {
      await expect(
        setTenantSettings(database.db, { tenant: "acme", author: "x", ...bad }),
      ).rejects.toMatchObject({ code: "invalid_request_error" });
    }
    expect((await getTenantSettings(database.db, acme.id))?.revision).toBe(2);
    clock += 1001;
    expect((await store.forTenant(acme)).settings).toMatchObject({
      use: "commercial",
      annualRevenueUsd: 900_000,
    });
  });
});
