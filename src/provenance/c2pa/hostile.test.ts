import fc from "fast-check";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { isHallmarkError } from "../../errors/index.js";
import { type C2pa, createC2pa } from "./c2pa.js";
import { loadCredentials } from "./credentials.js";
import { noiseImage, tempDataDir } from "./test-support.js";
import type { ManifestSpec, ReadResult } from "./types.js";

const spec: ManifestSpec = {
  title: "t",
  generatorVersion: "0.1.0",
  model: { name: "m" },
  action: { kind: "created" },
  generationId: "g1",
};

const FOUR_XX = new Set([
  "invalid_image",
  "unsupported_media_type",
  "payload_too_large",
  "image_too_large",
]);

let c2pa: C2pa;
let png: Uint8Array;
let jpeg: Uint8Array;
let webp: Uint8Array;

beforeAll(async () => {
  c2pa = await createC2pa({
    credentials: await loadCredentials({ dataDir: await tempDataDir() }),
    maxBytes: 8 * 1024 * 1024,
  });
  png = (await c2pa.sign(await noiseImage("png", 32), spec)).bytes;
  jpeg = (await c2pa.sign(await noiseImage("jpeg", 32), spec)).bytes;
  webp = (await c2pa.sign(await noiseImage("webp", 32), spec)).bytes;
});

/** Read and classify: a result, or a 4xx HallmarkError; anything else fails the test. */
async function outcome(bytes: Uint8Array): Promise<ReadResult | string> {
  try {
    return await c2pa.read(bytes);
  } catch (error) {
    if (isHallmarkError(error) && FOUR_XX.has(error.code)) return error.code;
    throw error;
  }
}

function at(bytes: Uint8Array, marker: string): number {
  const i = Buffer.from(bytes).indexOf(marker, 0, "latin1");
  if (i < 0) throw new Error(`${marker} not found`);
  return i;
}

describe("hostile inputs never crash or hang the reader", () => {
  it("0 bytes and garbage are 4xx", async () => {
    expect(await outcome(new Uint8Array(0))).toBe("invalid_image");
    expect(await outcome(new Uint8Array(4096).fill(0x41))).toBe("unsupported_media_type");
  });

  it("declared type that the bytes are not: unsupported_media_type", async () => {
    await expect(c2pa.read(png, "image/jpeg")).rejects.toMatchObject({
      code: "unsupported_media_type",
    });
  });

  it("too many bytes: payload_too_large", async () => {
    const big = new Uint8Array(9 * 1024 * 1024);
    big.set(png);
    expect(await outcome(big)).toBe("payload_too_large");
  });

  it("truncated signed images: 4xx or Invalid, never Trusted", async () => {
    for (const image of [png, jpeg, webp]) {
      for (const length of [
        3,
        8,
        12,
        20,
        64,
        200,
        1000,
        Math.floor(image.length / 2),
        image.length - 7,
      ]) {
        const r = await outcome(image.subarray(0, length));
        if (typeof r !== "string") expect(r.validationState === "Trusted").toBe(false);
      }
    }
  });

  it("a PNG with a broken caBX chunk: Invalid, or 4xx when the chunk length itself is wrong", async () => {
    const i = at(png, "caBX");
    const garbage = Buffer.from(png);
    garbage.fill(0x41, i + 20, i + 300);
    const r = await outcome(garbage);
    expect(typeof r === "string" ? r : r.validationState).toBe("Invalid");
    if (typeof r !== "string") expect(r.failures[0]?.code).toBe("hallmark.manifest.unreadable");

    const badLength = Buffer.from(png);
    badLength.writeUInt32BE(0x7fffffff, i - 4);
    expect(await outcome(badLength)).toBe("invalid_image");
  });

  it("a JUMBF box with absurd lengths (LBox 0, XLBox 2^64-1) is Invalid", async () => {
    const i = at(png, "caBX") + 4; // the jumb superbox header
    const zero = Buffer.from(png);
    zero.writeUInt32BE(0, i);
    const xl = Buffer.from(png);
    xl.writeUInt32BE(1, i);
    xl.writeUInt32BE(0xffffffff, i + 8);
    xl.writeUInt32BE(0xffffffff, i + 12);
    for (const bytes of [zero, xl]) {
      const r = await outcome(bytes);
      expect(typeof r === "string" ? r : r.validationState).toBe("Invalid");
    }
    const j = at(jpeg, "jumb");
    const jxl = Buffer.from(jpeg);
    jxl.writeUInt32BE(0xfffffff0, j + 8 + 4);
    const r = await outcome(jxl);
    expect(typeof r === "string" ? r : r.validationState).not.toBe("Trusted");
  });

  it("a 100-megapixel header reads as no manifest, quickly", async () => {
    const small = Buffer.from(
      await sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } })
        .png()
        .toBuffer(),
    );
    small.writeUInt32BE(10_000, 16);
    small.writeUInt32BE(10_000, 20);
    const started = performance.now();
    const r = await outcome(small);
    expect(typeof r === "string" ? r : r.present).toBe(false);
    expect(performance.now() - started).toBeLessThan(5000);
    // Signing refuses it before the engine sees it.
    await expect(c2pa.sign({ bytes: small, mediaType: "image/png" }, spec)).rejects.toMatchObject({
      code: "image_too_large",
    });
  });

  it("random corruption of signed images: a result or a 4xx, and the engine keeps working", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 2),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        async (which, edits) => {
          const image = Buffer.from([png, jpeg, webp][which]!);
          for (const [pos, value] of edits) image[pos % image.length] = value;
          await outcome(image);
        },
      ),
      { numRuns: 150 },
    );
    expect((await c2pa.read(png)).validationState).toBe("Trusted");
  });
});
