import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { isHallmarkError } from "../../errors/index.js";
import { decodeForScreening } from "./decode.js";
import { animatedGif, bridgeJpeg, pngClaiming } from "./test-images.js";

async function codeOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return "resolved";
  } catch (e) {
    return isHallmarkError(e) ? [e.code, e.details?.reason] : String(e);
  }
}

describe("decodeForScreening", () => {
  it("refuses empty, corrupt and truncated bytes as invalid_image", async () => {
    expect(await codeOf(decodeForScreening(new Uint8Array(0)))).toEqual([
      "invalid_image",
      undefined,
    ]);
    expect(await codeOf(decodeForScreening(Buffer.from("GIF89a garbage")))).toEqual([
      "invalid_image",
      undefined,
    ]);
    expect(await codeOf(decodeForScreening(bridgeJpeg().subarray(0, 3000)))).toEqual([
      "invalid_image",
      undefined,
    ]);
  });

  it("refuses a decompression bomb before decoding it", async () => {
    expect(await codeOf(decodeForScreening(pngClaiming(100_000, 100_000)))).toEqual([
      "image_too_large",
      undefined,
    ]);
    expect(await codeOf(decodeForScreening(bridgeJpeg(), 1_000_000))).toEqual([
      "image_too_large",
      undefined,
    ]);
  });

  it("refuses animated images", async () => {
    expect(await codeOf(decodeForScreening(await animatedGif()))).toEqual([
      "invalid_image",
      "animated",
    ]);
  });

  it("applies EXIF orientation", async () => {
    const tagged = await sharp(bridgeJpeg())
      .resize(200, 100)
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const d = await decodeForScreening(tagged);
    expect([d.width, d.height]).toEqual([100, 200]);
  });

  it("normalises CMYK, 16-bit, greyscale and alpha to 8-bit sRGB", async () => {
    const base = sharp(bridgeJpeg()).resize(64, 40);
    const cmyk = await decodeForScreening(
      await base.clone().toColourspace("cmyk").jpeg().toBuffer(),
    );
    expect([cmyk.channels, cmyk.data.length]).toEqual([3, 64 * 40 * 3]);
    const deep = await decodeForScreening(
      await base.clone().toColourspace("rgb16").png().toBuffer(),
    );
    expect([deep.channels, deep.data.length]).toEqual([3, 64 * 40 * 3]);
    const grey = await decodeForScreening(await base.clone().greyscale().png().toBuffer());
    expect(grey.channels).toBe(3);
    expect(grey.data[0]).toBe(grey.data[1]);
    const alpha = await decodeForScreening(await base.clone().ensureAlpha(0.5).png().toBuffer());
    expect(alpha.channels).toBe(4);
    expect(Math.abs(alpha.data[3]! - 128)).toBeLessThanOrEqual(1);
  });

  it("checks raw buffers against their dimensions", async () => {
    const raw = { data: new Uint8Array(12), width: 2, height: 2, channels: 3 as const };
    expect((await decodeForScreening(raw)).format).toBe("raw");
    expect(await codeOf(decodeForScreening({ ...raw, width: 3 }))).toEqual([
      "invalid_image",
      undefined,
    ]);
  });
});
