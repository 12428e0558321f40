/**
 * PDQ of encoded image bytes, the way the gateway stores and looks up fingerprints: EXIF
 * orientation applied, first frame only, alpha dropped (as Meta's reference tools do), and
 * shrunk to fit inside 512×512 before hashing. Meta's own tools shrink to 512 too (C++
 * pdq-photo-hasher, Python `thumbnail((512, 512))`); the Jarosz filter makes the hash nearly
 * independent of input size, and this bounds the hashing cost at a few milliseconds.
 */
import sharp from "sharp";
import { HallmarkError } from "../../errors/index.js";
import { pdqHash } from "./pdq.js";
import type { PdqResult, RawImage } from "./types.js";

/** Longest side hashed; larger images are shrunk (aspect kept) first. */
export const PDQ_HASH_SIDE = 512;

export interface PdqEncodedOptions {
  /** Refuse images with more pixels than this (decompression bombs). Default 100 megapixels. */
  maxPixels?: number;
}

/**
 * PDQ of encoded bytes (JPEG, PNG, WebP, GIF, TIFF, AVIF: whatever sharp reads).
 * @throws HallmarkError `image_too_large` over `maxPixels`, `invalid_image` when unreadable.
 */
export async function pdqHashEncoded(
  bytes: Uint8Array,
  options: PdqEncodedOptions = {},
): Promise<PdqResult> {
  const maxPixels = options.maxPixels ?? 100_000_000;
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: "error" })
      .rotate()
      .toColourspace("srgb")
      .removeAlpha()
      .resize(PDQ_HASH_SIDE, PDQ_HASH_SIDE, { fit: "inside", withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return pdqHashRawForLookup({ data, width: info.width, height: info.height, channels: 3 });
  } catch (cause) {
    if (cause instanceof HallmarkError) throw cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    if (/pixel limit/i.test(message)) {
      throw new HallmarkError("image_too_large", `image has more than ${maxPixels} pixels`, {
        cause,
      });
    }
    throw new HallmarkError("invalid_image", "image could not be decoded", { cause });
  }
}

/** Computes PDQ of a raw image: `pdqHash` itself, or the same function on a worker pool. */
export type PdqHasher = (image: RawImage) => PdqResult | Promise<PdqResult>;

/**
 * PDQ of a raw image already oriented and at most 512 on its longest side (else: shrunk here).
 * `hasher` runs the hash itself (default: in-process `pdqHash`; a worker pool keeps it off the
 * event loop).
 */
export async function pdqHashRawForLookup(
  image: RawImage,
  hasher: PdqHasher = pdqHash,
): Promise<PdqResult> {
  if (Math.max(image.width, image.height) <= PDQ_HASH_SIDE) return hasher(image);
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  })
    .resize(PDQ_HASH_SIDE, PDQ_HASH_SIDE, { fit: "inside" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return hasher({
    data,
    width: info.width,
    height: info.height,
    channels: info.channels as RawImage["channels"],
  });
}
