import fc from "fast-check";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { HallmarkError } from "../errors/index.js";
import { prepareInputImages, prepareMask, sniffInputType } from "./edit-input.js";

const limits = { maxInputPixels: 4_000_000, maxInputBytes: 1_000_000 };
const size = { width: 64, height: 64 };
const FOUR_XX = new Set([
  "invalid_image",
  "image_too_large",
  "unsupported_media_type",
  "invalid_request_error",
]);

async function png(width: number, height: number, channels: 3 | 4 = 3): Promise<Buffer> {
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) & 255;
  return sharp(data, { raw: { width, height, channels } }).png().toBuffer();
}

describe("edit inputs", () => {
  it("sniffs PNG, JPEG and WebP from the bytes, whatever the name says", async () => {
    const p = await png(8, 8);
    expect(sniffInputType(p, "image")).toBe("image/png");
    expect(sniffInputType(await sharp(p).jpeg().toBuffer(), "image")).toBe("image/jpeg");
    expect(sniffInputType(await sharp(p).webp().toBuffer(), "image")).toBe("image/webp");
    expect(() => sniffInputType(Buffer.from("GIF89a..."), "image")).toThrow(
      expect.objectContaining({ code: "unsupported_media_type" }),
    );
  });

  it("fits the input to the output size as PNG, applying EXIF orientation first", async () => {
    // 80×40 stored, orientation 6 (rotate 90° clockwise): the picture the client sees is 40×80.
    const stored = await sharp(await png(80, 40))
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const [input] = await prepareInputImages([stored], size, limits);
    expect([input!.width, input!.height, input!.mediaType]).toEqual([40, 80, "image/jpeg"]);
    const meta = await sharp(input!.normalised).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 64, 64]);
    expect(input!.original).toBe(stored);
  });

  it("turns OpenAI's mask (transparent = edit) into white-on-black at the output size", async () => {
    const image = (await prepareInputImages([await png(32, 32)], size, limits))[0]!;
    const rgba = Buffer.alloc(32 * 32 * 4, 255);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 16; x++) rgba[(y * 32 + x) * 4 + 3] = 0;
    // A half-transparent pixel is not "fully transparent": it is kept.
    rgba[(0 * 32 + 20) * 4 + 3] = 128;
    const mask = await sharp(rgba, { raw: { width: 32, height: 32, channels: 4 } })
      .png()
      .toBuffer();
    const out = await prepareMask(mask, image, size, limits);
    const { data, info } = await sharp(out.normalised)
      .toColourspace("b-w")
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([64, 64, 1]);
    expect(data[10 * 64 + 5]).toBe(255);
    expect(data[10 * 64 + 50]).toBe(0);
    expect(data[0 * 64 + 41]).toBe(0);
    expect(new Set(data)).toEqual(new Set([0, 255]));
  });

  it("any bytes as image or mask: a defined 4xx HallmarkError or a prepared input, never anything else (property)", async () => {
    const good = await png(16, 16, 4);
    const image = (await prepareInputImages([good], size, limits))[0]!;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          // Real headers with damaged bodies reach the decoder, not just the sniffer.
          fc
            .tuple(fc.integer({ min: 8, max: good.length }), fc.uint8Array({ maxLength: 64 }))
            .map(([cut, tail]) => new Uint8Array([...good.subarray(0, cut), ...tail])),
        ),
        async (bytes) => {
          for (const run of [
            () => prepareInputImages([Buffer.from(bytes)], size, limits),
            () => prepareMask(Buffer.from(bytes), image, size, limits),
          ]) {
            try {
              await run();
            } catch (error) {
              expect(error).toBeInstanceOf(HallmarkError);
              expect(FOUR_XX.has((error as HallmarkError).code)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
