import sharp, { type Metadata } from "sharp";
import { HallmarkError } from "../errors/index.js";
import type { GeneratedImage } from "./types.js";

/**
 * Checks that bytes from a backend are a PNG, JPEG or WebP image of exactly the requested size
 * (decoding at most `maxPixels`), so nothing else reaches screening and signing.
 */
export async function checkUpstreamImage(
  bytes: Buffer,
  expected: { width: number; height: number },
  seed: number,
  maxPixels: number,
): Promise<GeneratedImage> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
  } catch (error) {
    throw new HallmarkError(
      "backend_error",
      "The backend returned something that is not an image.",
      {
        cause: error,
      },
    );
  }
  const mediaType =
    meta.format === "png"
      ? "image/png"
      : meta.format === "jpeg"
        ? "image/jpeg"
        : meta.format === "webp"
          ? "image/webp"
          : undefined;
  if (!mediaType) {
    throw new HallmarkError(
      "backend_error",
      `The backend returned an unsupported format (${meta.format}).`,
    );
  }
  if (meta.width !== expected.width || meta.height !== expected.height) {
    throw new HallmarkError(
      "backend_error",
      `The backend returned ${meta.width}x${meta.height} instead of ${expected.width}x${expected.height}.`,
    );
  }
  return { bytes, mediaType, width: expected.width, height: expected.height, seed };
}

/** Decodes a base64 image (optionally a data: URL) and checks it as `checkUpstreamImage` does. */
export function decodeUpstreamImage(
  b64: string,
  expected: { width: number; height: number },
  seed: number,
  maxPixels: number,
): Promise<GeneratedImage> {
  const bytes = Buffer.from(b64.replace(/^data:image\/\w+;base64,/, ""), "base64");
  return checkUpstreamImage(bytes, expected, seed, maxPixels);
}
