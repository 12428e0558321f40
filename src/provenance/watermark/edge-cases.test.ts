import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { isHallmarkError } from "../../errors/index.js";
import { toRaw, toSharp } from "./eval/attacks.js";
import { makeScene } from "./eval/scenes.js";
import { decodeImage, encodeImage, formatForPath } from "./image-io.js";
import { WatermarkKey } from "./key.js";
import type { RawImage } from "./types.js";
import { createWatermarker } from "./watermarker.js";

const wm = createWatermarker({ key: new WatermarkKey(new Uint8Array(32).fill(31)) });
const payload = { issuerKeyId: 0x00ff, markId: "feedfacecafe" };
const hex = "00fffeedfacecafe";

function embed(image: RawImage): RawImage {
  const result = wm.embed(image, payload);
  if (!result.applied) throw new Error(result.message);
  return result.image;
}

function withChannels(image: RawImage, channels: 1 | 2 | 4): RawImage {
  const n = image.width * image.height;
  const data = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    const r = image.data[i * 3]!;
    const g = image.data[i * 3 + 1]!;
    const b = image.data[i * 3 + 2]!;
    if (channels === 4) data.set([r, g, b, (i * 7) & 255], i * 4);
    else {
      const y = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      data[i * channels] = y;
      if (channels === 2) data[i * 2 + 1] = 200;
    }
  }
  return { width: image.width, height: image.height, channels, data };
}

describe("edge cases", () => {
  it("does not mark images under 128 px on a side, and says so", () => {
    const small = makeScene("foliage", 127, 400, 1);
    const result = wm.embed(small, payload);
    expect(result).toMatchObject({ applied: false, reason: "too_small" });
    expect(wm.detect(small).detected).toBe(false);
    expect(wm.detect(makeScene("foliage", 40, 40, 1))).toEqual({ detected: false, confidence: 0 });
    expect(wm.embed(makeScene("foliage", 128, 128, 1), payload).applied).toBe(true);
  });

  it("marks a huge image through the analysis resolution (24 MP)", async () => {
    const base = makeScene("landscape", 600, 400, 2);
    const huge = await toRaw(toSharp(base).resize(6000, 4000, { kernel: "cubic" }));
    const marked = embed(huge);
    expect(marked.width).toBe(6000);
    const found = wm.detect(await toRaw(toSharp(marked).resize(1500)));
    expect(found.payloadHex).toBe(hex);
  });

  it("keeps alpha untouched and finds the mark in RGBA", () => {
    const rgba = withChannels(makeScene("city", 512, 384, 3), 4);
    const marked = embed(rgba);
    for (let i = 3; i < rgba.data.length; i += 4) expect(marked.data[i]).toBe(rgba.data[i]);
    expect(wm.detect(marked).payloadHex).toBe(hex);
  });

  it("marks greyscale and greyscale+alpha images", () => {
    for (const channels of [1, 2] as const) {
      const grey = withChannels(makeScene("portrait", 480, 480, 4), channels);
      const marked = embed(grey);
      expect(marked.channels).toBe(channels);
      if (channels === 2)
        for (let i = 1; i < grey.data.length; i += 2) expect(marked.data[i]).toBe(200);
      expect(wm.detect(marked).payloadHex).toBe(hex);
    }
  });

  it("decodes 16-bit PNG and CMYK JPEG to 8-bit sRGB that marks and detects", async () => {
    const scene = makeScene("marble", 512, 512, 5);
    const raw = { raw: { width: 512, height: 512, channels: 3 as const } };
    const png16 = await sharp(scene.data, raw).toColourspace("rgb16").png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe("ushort");
    const cmyk = await sharp(scene.data, raw)
      .toColourspace("cmyk")
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe("cmyk");
    for (const bytes of [png16, cmyk]) {
      const decoded = await decodeImage(bytes);
      expect(decoded.channels).toBe(3);
      expect(decoded.data.length).toBe(512 * 512 * 3);
      const marked = embed(decoded);
      const reread = await decodeImage(await encodeImage(marked, "png"));
      expect(wm.detect(reread).payloadHex).toBe(hex);
    }
  });

  it("turns non-images into invalid_image and oversized ones into image_too_large", async () => {
    const codeOf = async (p: Promise<unknown>) => {
      try {
        await p;
        return "no error";
      } catch (error) {
        return isHallmarkError(error) ? error.code : "untyped";
      }
    };
    expect(await codeOf(decodeImage(new TextEncoder().encode("%PDF-1.7 not an image")))).toBe(
      "invalid_image",
    );
    expect(await codeOf(decodeImage(new Uint8Array(0)))).toBe("invalid_image");
    const png = await sharp({
      create: { width: 300, height: 300, channels: 3, background: "#888" },
    })
      .png()
      .toBuffer();
    expect(await codeOf(decodeImage(png.subarray(0, 60)))).toBe("invalid_image");
    expect(await codeOf(decodeImage(png, { maxPixels: 1000 }))).toBe("image_too_large");
    expect(() =>
      wm.detect({ width: 10, height: 10, channels: 3, data: new Uint8Array(5) }),
    ).toThrow(expect.objectContaining({ code: "invalid_image" }));
  });

  it("decodes a JPEG whose entropy data is damaged (a libjpeg warning), and finds its mark", async () => {
    const marked = embed(makeScene("city", 512, 384, 3));
    const jpeg = await toSharp(marked).jpeg({ quality: 92 }).toBuffer();
    // The first single-bit flip near the end that libjpeg reports as corrupt but still decodes.
    let damaged: Buffer | undefined;
    for (let at = jpeg.length - 100; at > jpeg.length - 2000 && !damaged; at--) {
      const candidate = Buffer.from(jpeg);
      candidate[at] = candidate[at]! ^ 0x01;
      const strict = await sharp(candidate)
        .raw()
        .toBuffer()
        .then(
          () => true,
          () => false,
        );
      const lenient = await sharp(candidate, { failOn: "error" })
        .raw()
        .toBuffer()
        .then(
          () => true,
          () => false,
        );
      if (!strict && lenient) damaged = candidate;
    }
    expect(damaged).toBeDefined();
    const decoded = await decodeImage(damaged!);
    expect([decoded.width, decoded.height]).toEqual([512, 384]);
    expect(wm.detect(decoded).payloadHex).toBe(hex);
  });

  it("maps output file extensions to formats", () => {
    expect(formatForPath("a/b.JPG")).toBe("jpeg");
    expect(formatForPath("x.webp")).toBe("webp");
    expect(formatForPath("x.bmp")).toBeNull();
  });
});
