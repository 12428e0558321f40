import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/index.js";
import { tenants } from "../db/schema.js";
import { testDatabases } from "../db/test-databases.js";
import { createTenant } from "../tenants/index.js";
import { findImagesByMarkId, findImagesNearPdq } from "./lookup.js";
import { recordGeneration } from "./record.js";

/** Flips the first `bits` bits of a 64-hex-digit hash. */
function flip(hex: string, bits: number): string {
  const bytes = Buffer.from(hex, "hex");
  for (let i = 0; i < bits; i++) bytes[i >> 3]! ^= 0x80 >> (i & 7);
  return bytes.toString("hex");
}

describe.each(testDatabases())("image lookups on $name", ({ open }) => {
  let database: Database;
  const base = "a5".repeat(32);
  let generationId: string;
  beforeAll(async () => {
    database = await open();
    const tenant = await createTenant(database.db, "acme");
    generationId = randomUUID();
    await recordGeneration(database.db, {
      id: generationId,
      tenantId: tenant.id,
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
      images: [
        {
          index: 0,
          sha256: "0".repeat(64),
          mediaType: "image/png",
          width: 1,
          height: 1,
          bytes: 1,
          seed: 1,
          marks: [],
          pdqHash: base,
          watermarkMarkId: "0123456789ab",
        },
        {
          index: 1,
          sha256: "1".repeat(64),
          mediaType: "image/png",
          width: 1,
          height: 1,
          bytes: 1,
          seed: 2,
          marks: [],
          pdqHash: flip(base, 20),
        },
      ],
    });
  });
  afterAll(() => database.close());

  it("finds PDQ neighbours within the distance, nearest first, and nothing beyond it", async () => {
    const near = await findImagesNearPdq(database.db, flip(base, 5), 31);
    expect(near.map((r) => [r.image.index, r.distance])).toEqual([
      [0, 5],
      [1, 15],
    ]);
    expect(await findImagesNearPdq(database.db, flip(base, 60), 31)).toEqual([]);
    expect(await findImagesNearPdq(database.db, "not-a-hash", 31)).toEqual([]);
  });

  it("finds an image by its watermark mark id", async () => {
    const rows = await findImagesByMarkId(database.db, "0123456789ab");
    expect(rows.map((r) => r.generation.id)).toEqual([generationId]);
    expect(await findImagesByMarkId(database.db, "ffffffffffff")).toEqual([]);
  });

  it("refuses a second image with the same mark id, so a mark never leads to two images", async () => {
    const [tenant] = await database.db.select().from(tenants);
    await expect(
      recordGeneration(database.db, {
        id: randomUUID(),
        tenantId: tenant!.id,
        apiKeyId: null,
        endUser: null,
        kind: "generate",
        status: "completed",
        retention: "sha256",
        prompt: "y",
        params: {},
        model: "m",
        backend: "b",
        action: "allow",
        decision: {},
        stages: [],
        images: [
          {
            index: 0,
            sha256: "2".repeat(64),
            mediaType: "image/png",
            width: 1,
            height: 1,
            bytes: 1,
            seed: 3,
            marks: [],
            watermarkMarkId: "0123456789ab",
          },
        ],
      }),
    ).rejects.toThrow();
    expect(await findImagesByMarkId(database.db, "0123456789ab")).toHaveLength(1);
  });
});
