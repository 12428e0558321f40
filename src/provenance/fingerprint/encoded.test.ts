import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { isHallmarkError } from "../../errors/index.js";
import { pdqHashEncoded } from "./encoded.js";
import { pdqDistance } from "./hamming.js";
import { pdqHash } from "./pdq.js";

const BRIDGE = readFileSync(join(import.meta.dirname, "fixtures", "bridge-1-original.jpg"));
const FULL = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isHallmarkError(e) ? e.code : `not a HallmarkError: ${String(e)}`;
  }
}

describe("pdqHashEncoded", () => {
  it("stays within a few bits of the full-resolution hash after the 512 shrink", async () => {
    const r = await pdqHashEncoded(BRIDGE);
    expect(r.quality).toBe(100);
    expect(pdqDistance(r.hash, FULL)).toBeLessThanOrEqual(10);
  });

  it("gives near-identical hashes for re-encoded, resized and metadata-stripped copies", async () => {
    const base = (await pdqHashEncoded(BRIDGE)).hash;
    const copies = [
      await sharp(BRIDGE).jpeg({ quality: 60 }).toBuffer(),
      await sharp(BRIDGE).png().toBuffer(),
      await sharp(BRIDGE).webp({ quality: 75 }).toBuffer(),
      await sharp(BRIDGE).resize(400).jpeg({ quality: 85 }).toBuffer(),
    ];
    for (const copy of copies) {
      expect(pdqDistance((await pdqHashEncoded(copy)).hash, base)).toBeLessThanOrEqual(12);
    }
  });

  it("applies EXIF orientation before hashing", async () => {
    const rotated = await sharp(BRIDGE).rotate(90).jpeg({ quality: 95 }).toBuffer();
    // Stored sideways with orientation 8 ("rotate 270 to view"): the viewer sees the original.
    const tagged = await sharp(rotated).withMetadata({ orientation: 8 }).jpeg().toBuffer();
    const base = (await pdqHashEncoded(BRIDGE)).hash;
    expect(pdqDistance((await pdqHashEncoded(tagged)).hash, base)).toBeLessThanOrEqual(12);
    expect(pdqDistance((await pdqHashEncoded(rotated)).hash, base)).toBeGreaterThan(60);
  });

  it("hashes the RGB of a CMYK JPEG and of a 16-bit PNG", async () => {
    const base = (await pdqHashEncoded(BRIDGE)).hash;
    const cmyk = await sharp(BRIDGE).toColourspace("cmyk").jpeg().toBuffer();
    const deep = await sharp(BRIDGE).toColourspace("rgb16").png().toBuffer();
    expect(pdqDistance((await pdqHashEncoded(cmyk)).hash, base)).toBeLessThanOrEqual(16);
    expect(pdqDistance((await pdqHashEncoded(deep)).hash, base)).toBeLessThanOrEqual(12);
  });

  it("refuses corrupt bytes and decompression bombs with typed errors", async () => {
    expect(await codeOf(pdqHashEncoded(Buffer.from("not an image")))).toBe("invalid_image");
    expect(await codeOf(pdqHashEncoded(BRIDGE.subarray(0, 2000)))).toBe("invalid_image");
    expect(await codeOf(pdqHashEncoded(BRIDGE, { maxPixels: 1000 }))).toBe("image_too_large");
  });

  it("agrees with pdqHash on an image already inside 512", async () => {
    const small = await sharp(BRIDGE).resize(320).png().toBuffer();
    const { data, info } = await sharp(small).raw().toBuffer({ resolveWithObject: true });
    const direct = pdqHash({ data, width: info.width, height: info.height, channels: 3 });
    expect((await pdqHashEncoded(small)).hash).toBe(direct.hash);
  });
});
