import { afterAll, describe, expect, it } from "vitest";
import { pdqHash } from "../provenance/fingerprint/index.js";
import { makeScene } from "../provenance/watermark/eval/scenes.js";
import {
  createWatermarker,
  generateWatermarkKey,
  type RawImage,
} from "../provenance/watermark/index.js";
import { createCpuPool } from "./pool.js";

async function photo(seed: number): Promise<RawImage> {
  return makeScene("landscape", 384, 320, seed);
}

describe("the CPU pool", () => {
  const key = generateWatermarkKey();
  const pool = createCpuPool({ threads: 2, watermarkKey: key });
  afterAll(() => pool.close());

  it("embeds and detects the same mark as the in-process watermarker", async () => {
    const image = await photo(1);
    const payload = { issuerKeyId: 7, markId: "0123456789ab" };
    const inline = createWatermarker({ key }).embed(image, payload);
    const pooled = await pool.watermarker!.embed(image, payload);
    expect(pooled.applied).toBe(true);
    expect(inline.applied).toBe(true);
    if (!pooled.applied || !inline.applied) return;
    expect(Buffer.from(pooled.image.data).equals(Buffer.from(inline.image.data))).toBe(true);
    const found = await pool.watermarker!.detect(pooled.image);
    expect(found.detected).toBe(true);
    expect(found.payload).toEqual(payload);
    expect((await pool.watermarker!.detect(image)).detected).toBe(false);
  });

  it("hashes like pdqHash, for many images at once", async () => {
    const images = await Promise.all([1, 2, 3, 4, 5, 6].map(photo));
    const pooled = await Promise.all(images.map((i) => pool.pdq(i)));
    expect(pooled).toEqual(images.map((i) => pdqHash(i)));
  });

  it("rejects a malformed image as the in-process function does, and keeps working", async () => {
    const bad = { data: new Uint8Array(10), width: 100, height: 100, channels: 3 as const };
    await expect(pool.pdq(bad)).rejects.toThrow(/does not match/);
    await expect(pool.watermarker!.embed(bad, { issuerKeyId: 1, markId: "00" })).rejects.toThrow();
    expect((await pool.pdq(await photo(9))).hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("has no watermarker without a key", async () => {
    const bare = createCpuPool({ threads: 1 });
    expect(bare.watermarker).toBeUndefined();
    await bare.close();
  });
});
