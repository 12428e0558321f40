/**
 * Turns whatever the pipeline holds (encoded bytes, or raw samples as sharp gives) into one
 * defined form for the models: 8-bit sRGB, EXIF orientation applied, 3 or 4 channels.
 *
 * Bad input, decided once here (docs/image-screening.md):
 * - unreadable, truncated or empty bytes → `invalid_image`;
 * - more than `maxPixels` pixels (decompression bombs) → `image_too_large`, before decoding;
 * - animated images (more than one page/frame) → `invalid_image` with `details.reason =
 *   "animated"`: the gateway neither produces nor edits animations, and screening only the first
 *   frame would let later frames through;
 * - CMYK, greyscale, palette, 16-bit: converted to 8-bit sRGB; alpha kept for the caller.
 */
import sharp, { type Metadata } from "sharp";
import { HallmarkError } from "../../errors/index.js";

/** Raw 8-bit samples, interleaved, row-major (sharp's `.raw()` output). */
export interface RawImageInput {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

/** What `classify` accepts: raw samples, or encoded bytes (JPEG, PNG, WebP, GIF, TIFF, AVIF). */
export type ImageInput = RawImageInput | Uint8Array;

export interface DecodedImage extends RawImageInput {
  /** Format sharp detected, or "raw". */
  format: string;
}

/** Default pixel limit: 50 megapixels (a 7071×7071 image), far above any generated size. */
export const DEFAULT_MAX_PIXELS = 50_000_000;

function validateRaw(image: RawImageInput, maxPixels: number): void {
  const { data, width, height, channels } = image;
  if (
    !(data instanceof Uint8Array) ||
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    (channels !== 3 && channels !== 4) ||
    data.length !== width * height * channels
  ) {
    throw new HallmarkError("invalid_image", "raw image buffer does not match its dimensions", {
      param: "image",
    });
  }
  if (width * height > maxPixels) {
    throw new HallmarkError("image_too_large", `image has more than ${maxPixels} pixels`, {
      param: "image",
      details: { width, height, maxPixels },
    });
  }
}

/**
 * Decodes and normalises an image.
 * @throws HallmarkError `invalid_image` (unreadable, animated, malformed raw buffer) or
 *   `image_too_large` (over `maxPixels`).
 */
export async function decodeForScreening(
  input: ImageInput,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<DecodedImage> {
  if (!(input instanceof Uint8Array)) {
    validateRaw(input, maxPixels);
    return { ...input, format: "raw" };
  }
  if (input.length === 0) {
    throw new HallmarkError("invalid_image", "image is empty", { param: "image" });
  }
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: maxPixels }).metadata();
  } catch (cause) {
    throw mapSharpError(cause, maxPixels);
  }
  if ((meta.pages ?? 1) > 1 && meta.format !== "heif" && meta.format !== "tiff") {
    throw new HallmarkError("invalid_image", "animated images are not accepted", {
      param: "image",
      details: { reason: "animated", frames: meta.pages },
    });
  }
  if ((meta.width ?? 0) * (meta.height ?? 0) > maxPixels) {
    throw new HallmarkError("image_too_large", `image has more than ${maxPixels} pixels`, {
      param: "image",
      details: { width: meta.width, height: meta.height, maxPixels },
    });
  }
  try {
    const { data, info } = await sharp(input, { limitInputPixels: maxPixels, failOn: "error" })
      .rotate()
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    // sharp keeps greyscale as 1 or 2 channels: expand to RGB(A) so the models see one layout.
    if (info.channels === 1 || info.channels === 2) {
      const alpha = info.channels === 2;
      const out = new Uint8Array(info.width * info.height * (alpha ? 4 : 3));
      for (let p = 0, s = 0, o = 0; p < info.width * info.height; p++) {
        const g = data[s++]!;
        out[o++] = g;
        out[o++] = g;
        out[o++] = g;
        if (alpha) out[o++] = data[s++]!;
      }
      return {
        data: out,
        width: info.width,
        height: info.height,
        channels: alpha ? 4 : 3,
        format: meta.format ?? "unknown",
      };
    }
    return {
      data,
      width: info.width,
      height: info.height,
      channels: info.channels as 3 | 4,
      format: meta.format ?? "unknown",
    };
  } catch (cause) {
    throw mapSharpError(cause, maxPixels);
  }
}

function mapSharpError(cause: unknown, maxPixels: number): HallmarkError {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/pixel limit/i.test(message)) {
    return new HallmarkError("image_too_large", `image has more than ${maxPixels} pixels`, {
      param: "image",
      cause,
    });
  }
  return new HallmarkError("invalid_image", "image could not be decoded", {
    param: "image",
    cause,
  });
}
