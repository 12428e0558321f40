import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordGeneration } from "../audit/index.js";
import type { Database } from "../db/index.js";
import { generationOutputs } from "../db/schema-jobs.js";
import { testDatabases } from "../db/test-databases.js";
import { createTenant } from "../tenants/index.js";
import { loadOutputKey, parseOutputKey } from "./key.js";
import { seal, unseal } from "./seal.js";
import { createOutputStore } from "./store.js";

describe("output key and sealing", () => {
  it("creates <dataDir>/outputs.key with mode 0600 and reads the same key back", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "hm-out-"));
    const first = await loadOutputKey({ dataDir });
    expect((await stat(path.join(dataDir, "outputs.key"))).mode & 0o777).toBe(0o600);
    const again = await loadOutputKey({ dataDir });
    expect(again.keyId).toBe(first.keyId);
    expect(again.key.equals(first.key)).toBe(true);
    expect(await readFile(path.join(dataDir, "outputs.key"), "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
  });

  it("refuses a configured key file that is missing or malformed", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "hm-out-"));
    await expect(loadOutputKey({ dataDir, keyFile: path.join(dataDir, "nope") })).rejects.toThrow(
      /cannot read/,
    );
    expect(() => parseOutputKey(Buffer.from("short"))).toThrow(/64 hex digits/);
  });

  it("round-trips, and rejects a wrong key, wrong additional data or a flipped bit", () => {
    const key = randomBytes(32);
    const plain = randomBytes(1000);
    const sealed = seal(key, Buffer.from("a"), plain);
    expect(sealed.includes(plain.subarray(0, 32))).toBe(false);
    expect(unseal(key, Buffer.from("a"), sealed).equals(plain)).toBe(true);
    expect(() => unseal(randomBytes(32), Buffer.from("a"), sealed)).toThrow(/decrypted/);
    expect(() => unseal(key, Buffer.from("b"), sealed)).toThrow(/decrypted/);
    const flipped = Buffer.from(sealed);
    flipped[20]! ^= 1;
    expect(() => unseal(key, Buffer.from("a"), flipped)).toThrow(/decrypted/);
    expect(() => unseal(key, Buffer.from("a"), Buffer.alloc(5))).toThrow(/truncated/);
  });
});

describe.each(testDatabases())("output store on $name", ({ open }) => {
  let database: Database;
  const key = parseOutputKey(randomBytes(32));
  const store = createOutputStore(key);

  async function generation(): Promise<string> {
    const id = randomUUID();
    const [tenant] = await database.db.query.tenants.findMany({ limit: 1 });
    await recordGeneration(database.db, {
      id,
      tenantId: tenant!.id,
      apiKeyId: null,
      endUser: null,
      kind: "generate",
      status: "completed",
      retention: "sha256",
      prompt: "x",
      params: {},
      model: "m",
      backend: "b",
      action: "allow",
      decision: {},
      stages: [],
      images: [],
    });
    return id;
  }

  beforeAll(async () => {
    database = await open();
    await createTenant(database.db, "acme");
  });
  afterAll(() => database.close());

  it("stores images encrypted at rest and returns them in order until they expire", async () => {
    const id = await generation();
    const a = randomBytes(500);
    const b = randomBytes(700);
    const later = new Date(Date.now() + 60_000);
    await store.put(
      database.db,
      id,
      [
        { index: 1, mediaType: "image/webp", bytes: b },
        { index: 0, mediaType: "image/png", bytes: a },
      ],
      later,
    );
    const rows = await database.db
      .select()
      .from(generationOutputs)
      .where(eq(generationOutputs.generationId, id));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.keyId).toBe(key.keyId);
      expect(row.sealed.includes(a.subarray(0, 32))).toBe(false);
      expect(row.sealed.includes(b.subarray(0, 32))).toBe(false);
    }
    const got = await store.get(database.db, id);
    expect(got?.map((i) => i.index)).toEqual([0, 1]);
    expect(got?.[0]?.bytes.equals(a)).toBe(true);
    expect(got?.[1]?.mediaType).toBe("image/webp");

    // A store under another key cannot read them.
    const other = createOutputStore(parseOutputKey(randomBytes(32)));
    await expect(other.get(database.db, id)).rejects.toThrow(/decrypted/);

    expect(await store.purgeExpired(database.db, new Date(Date.now() + 120_000))).toBeGreaterThan(
      1,
    );
    expect(await store.get(database.db, id)).toBeNull();
  });

  it("does not return expired images before the purge, and discards on demand", async () => {
    const id = await generation();
    await store.put(
      database.db,
      id,
      [{ index: 0, mediaType: "image/png", bytes: randomBytes(10) }],
      new Date(Date.now() - 1000),
    );
    expect(await store.get(database.db, id)).toBeNull();
    const kept = await generation();
    await store.put(
      database.db,
      kept,
      [{ index: 0, mediaType: "image/png", bytes: randomBytes(10) }],
      new Date(Date.now() + 60_000),
    );
    expect(await store.discard(database.db, kept)).toBe(1);
    expect(await store.get(database.db, kept)).toBeNull();
    expect(await store.discard(database.db, randomUUID())).toBe(0);
  });
});
