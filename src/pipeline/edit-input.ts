import sharp, { type Metadata } from "sharp";
import { sha256Hex } from "../audit/index.js";
import { HallmarkError } from "../errors/index.js";

export type InputMediaType = "image/png" | "image/jpeg" | "image/webp";

/** One uploaded input image, checked, and the form every backend receives. */
export interface EditInputImage {
  /** The bytes as uploaded (the C2PA parent ingredient: its own credentials are kept). */
  original: Buffer;
  mediaType: InputMediaType;
  sha256: string;
  /** Size after EXIF orientation, as the client sees the picture. */
  width: number;
  height: number;
  /** PNG of exactly the output size: oriented, centre-cropped and scaled (`EditInput.image`). */
  normalised: Buffer;
}

export interface EditInputLimits {
  /** Largest image decoded at all (decompression bombs), in pixels. */
  maxInputPixels: number;
  /** Largest uploaded file, in bytes. */
  maxInputBytes: number;
}

/**
 * The media type from the first bytes (PNG, JPEG, WebP), never from the client's Content-Type
 * or file name; anything else is `unsupported_media_type`.
 */
export function sniffInputType(bytes: Uint8Array, param: string): InputMediaType {
  const b = bytes;
  if (
    b.length >= 8 &&
    b[0] === 0x89 &&
    b[1] === 0x50 &&
    b[2] === 0x4e &&
    b[3] === 0x47 &&
    b[4] === 0x0d &&
    b[5] === 0x0a &&
    b[6] === 0x1a &&
    b[7] === 0x0a
  ) {
    return "image/png";
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (
    b.length >= 12 &&
    String.fromCharCode(b[0]!, b[1]!, b[2]!, b[3]!) === "RIFF" &&
    String.fromCharCode(b[8]!, b[9]!, b[10]!, b[11]!) === "WEBP"
  ) {
    return "image/webp";
  }
  throw new HallmarkError(
    "unsupported_media_type",
    `The '${param}' file is not a PNG, JPEG or WebP image.`,
    { param },
  );
}

/** Reads the header (no pixels) and enforces the byte and pixel limits and single frames. */
async function inspect(
  bytes: Buffer,
  param: string,
  limits: EditInputLimits,
): Promise<{ mediaType: InputMediaType; meta: Metadata; width: number; height: number }> {
  if (bytes.length === 0) {
    throw new HallmarkError("invalid_image", `The '${param}' file is empty.`, { param });
  }
  if (bytes.length > limits.maxInputBytes) {
    throw new HallmarkError(
      "image_too_large",
      `The '${param}' file is larger than ${limits.maxInputBytes} bytes.`,
      { param, details: { max_bytes: limits.maxInputBytes } },
    );
  }
  const mediaType = sniffInputType(bytes, param);
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new HallmarkError("invalid_image", `The '${param}' file cannot be read as an image.`, {
      param,
      cause: error,
    });
  }
  const { width, height } = meta;
  if (!width || !height) {
    throw new HallmarkError("invalid_image", `The '${param}' file has no dimensions.`, { param });
  }
  if (width * height > limits.maxInputPixels) {
    throw new HallmarkError(
      "image_too_large",
      `The '${param}' image has ${width}x${height} pixels, more than ${limits.maxInputPixels}.`,
      { param, details: { width, height, max_pixels: limits.maxInputPixels } },
    );
  }
  if ((meta.pages ?? 1) > 1) {
    throw new HallmarkError(
      "invalid_image",
      `The '${param}' image is animated; edits take a single still image.`,
      { param, details: { reason: "animated" } },
    );
  }
  // EXIF orientations 5-8 swap the sides: the picture the client sees is turned.
  const turned = (meta.orientation ?? 1) >= 5;
  return {
    mediaType,
    meta,
    width: turned ? height : width,
    height: turned ? width : height,
  };
}

/** Decodes fully (a truncated file fails here, not in a backend) and fits it to the output. */
async function normalise(
  bytes: Buffer,
  param: string,
  size: { width: number; height: number },
  limits: EditInputLimits,
): Promise<Buffer> {
  try {
    return await sharp(bytes, { limitInputPixels: limits.maxInputPixels, failOn: "error" })
      .rotate()
      .resize(size.width, size.height, { fit: "cover", position: "centre" })
      .png({ compressionLevel: 3 })
      .toBuffer();
  } catch (error) {
    throw new HallmarkError("invalid_image", `The '${param}' file cannot be decoded.`, {
      param,
      cause: error,
    });
  }
}

/**
 * Checks every uploaded image (type sniffed from the bytes, size and pixel limits, one frame,
 * fully decodable) and prepares the form backends receive: oriented and fitted to the output
 * size (centre crop, so the aspect ratio is kept) as PNG.
 */
export async function prepareInputImages(
  uploads: Buffer[],
  size: { width: number; height: number },
  limits: EditInputLimits,
): Promise<EditInputImage[]> {
  const out: EditInputImage[] = [];
  for (const [i, bytes] of uploads.entries()) {
    const param = uploads.length > 1 ? `image[${i}]` : "image";
    const info = await inspect(bytes, param, limits);
    out.push({
      original: bytes,
      mediaType: info.mediaType,
      sha256: sha256Hex(bytes),
      width: info.width,
      height: info.height,
      normalised: await normalise(bytes, param, size, limits),
    });
  }
  return out;
}

/**
 * Checks OpenAI's mask (a PNG with an alpha channel, of the same size as the first image: fully
 * transparent pixels mark the area to edit) and converts it to the backends' form: a greyscale
 * PNG of the output size, white where the image is repainted, black where it is kept.
 */
export async function prepareMask(
  bytes: Buffer,
  image: EditInputImage,
  size: { width: number; height: number },
  limits: EditInputLimits,
): Promise<{ normalised: Buffer; sha256: string }> {
  const info = await inspect(bytes, "mask", limits);
  if (info.mediaType !== "image/png") {
    throw new HallmarkError("invalid_request_error", "The mask must be a PNG image.", {
      param: "mask",
    });
  }
  if (!info.meta.hasAlpha) {
    throw new HallmarkError(
      "invalid_request_error",
      "The mask must have an alpha channel: fully transparent pixels mark the area to edit.",
      { param: "mask" },
    );
  }
  if (info.width !== image.width || info.height !== image.height) {
    throw new HallmarkError(
      "invalid_request_error",
      `The mask is ${info.width}x${info.height} but the image is ${image.width}x${image.height}; they must be the same size.`,
      { param: "mask" },
    );
  }
  let normalised: Buffer;
  try {
    // Alpha 0 (transparent: edit) becomes 255 (white: repaint), opaque becomes black.
    const alpha = await sharp(bytes, { limitInputPixels: limits.maxInputPixels, failOn: "error" })
      .rotate()
      .ensureAlpha()
      .extractChannel(3)
      .raw()
      .toBuffer();
    // Only fully transparent pixels are edited (OpenAI: "where alpha is zero"); the nearest-pixel
    // resize below keeps the mask binary.
    const binary = Buffer.alloc(alpha.length);
    for (let i = 0; i < alpha.length; i++) binary[i] = alpha[i] === 0 ? 255 : 0;
    normalised = await sharp(binary, {
      raw: { width: info.width, height: info.height, channels: 1 },
    })
      .resize(size.width, size.height, { fit: "cover", position: "centre", kernel: "nearest" })
      .toColourspace("b-w")
      .png()
      .toBuffer();
  } catch (error) {
    throw new HallmarkError("invalid_image", "The 'mask' file cannot be decoded.", {
      param: "mask",
      cause: error,
    });
  }
  return { normalised, sha256: sha256Hex(bytes) };
}
