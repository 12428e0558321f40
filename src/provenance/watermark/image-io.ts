import sharp from "sharp";
import { HallmarkError } from "../../errors/index.js";
import type { RawImage } from "./types.js";

/** Default decode limit: 64 megapixels (an 8192×8192 image). */
export const DEFAULT_MAX_PIXELS = 64 * 1024 * 1024;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (`image_too_large`); checked before decoding. */
  maxPixels?: number;
  /** Apply the EXIF orientation so the pixels stand as the image is shown (default true). */
  autoOrient?: boolean;
}

export interface DecodedImage extends RawImage {
  /** The container format sharp found (`png`, `jpeg`, `webp`, …). */
  format: string;
}

/**
 * Decodes encoded bytes (PNG, JPEG, WebP, AVIF, GIF, TIFF, …) into 8-bit sRGB pixels as the
 * watermark takes them. sharp converts CMYK and 16-bit inputs to 8-bit sRGB and keeps alpha.
 * Anything that is not a decodable image throws `invalid_image`; too many pixels throws
 * `image_too_large` (both map to 4xx).
 * @example const raw = await decodeImage(await readFile("in.png"));
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  try {
    // failOn "error", as the screening and fingerprint decoders: a JPEG with a damaged entropy
    // segment ("Corrupt JPEG data", a libjpeg warning) still decodes and can still be verified;
    // with sharp's default ("warning") one bit flipped in five percent of JPEGs made
    // /v1/provenance/verify refuse the whole image (422) instead of reporting the broken manifest.
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels, animated: false, failOn: "error" });
    const meta = await pipeline.metadata();
    if (options.autoOrient ?? true) pipeline = pipeline.rotate();
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      channels: info.channels as RawImage["channels"],
      format: meta.format ?? "unknown",
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/pixel limit/i.test(message)) {
      throw new HallmarkError("image_too_large", `image has more than ${maxPixels} pixels`, {
        cause: error,
      });
    }
    throw new HallmarkError("invalid_image", "the input is not a decodable image", {
      cause: error,
    });
  }
}

export type EncodeFormat = "png" | "jpeg" | "webp" | "tiff" | "avif";

/** The output format for a file name's extension, or null when unknown. */
export function formatForPath(path: string): EncodeFormat | null {
  const ext = path.toLowerCase().split(".").pop();
  switch (ext) {
    case "png":
      return "png";
    case "jpg":
    case "jpeg":
      return "jpeg";
    case "webp":
      return "webp";
    case "tif":
    case "tiff":
      return "tiff";
    case "avif":
      return "avif";
    default:
      return null;
  }
}

/** Encodes pixels; lossy formats at quality 92 (the mark survives far lower). */
export async function encodeImage(image: RawImage, format: EncodeFormat): Promise<Buffer> {
  const s = sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
  switch (format) {
    case "png":
      return s.png().toBuffer();
    case "jpeg":
      return s.jpeg({ quality: 92 }).toBuffer();
    case "webp":
      return s.webp({ quality: 92 }).toBuffer();
    case "tiff":
      return s.tiff().toBuffer();
    case "avif":
      return s.avif({ quality: 80 }).toBuffer();
  }
}
