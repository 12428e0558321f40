/**
 * Recognise PNG, JPEG and WebP from their first bytes and read the declared dimensions from
 * the header (PNG IHDR, JPEG SOFn, WebP VP8/VP8L/VP8X), without decoding any pixels. Used to
 * turn hostile or wrong input into a 4xx before it reaches the engine.
 */
import { HallmarkError } from "../../errors/index.js";
import type { C2paMediaType } from "./types.js";

export interface Sniffed {
  mediaType: C2paMediaType;
  width: number | null;
  height: number | null;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

function u32be(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
}

function pngSize(b: Uint8Array): [number, number] | null {
  if (b.length < 24 || ascii(b, 12, 4) !== "IHDR") return null;
  return [u32be(b, 16), u32be(b, 20)];
}

function jpegSize(b: Uint8Array): [number, number] | null {
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return null;
    const marker = b[p + 1]!;
    if (marker === 0xff) {
      p++;
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += 2;
      continue;
    }
    const length = (b[p + 2]! << 8) + b[p + 3]!;
    if (length < 2) return null;
    const isSof =
      marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (p + 9 > b.length) return null;
      return [(b[p + 7]! << 8) + b[p + 8]!, (b[p + 5]! << 8) + b[p + 6]!];
    }
    if (marker === 0xda || marker === 0xd9) return null;
    p += 2 + length;
  }
  return null;
}

function webpSize(b: Uint8Array): [number, number] | null {
  const chunk = ascii(b, 12, 4);
  if (chunk === "VP8X" && b.length >= 30) {
    const w = 1 + (b[24]! | (b[25]! << 8) | (b[26]! << 16));
    const h = 1 + (b[27]! | (b[28]! << 8) | (b[29]! << 16));
    return [w, h];
  }
  if (chunk === "VP8 " && b.length >= 30) {
    return [(b[26]! | (b[27]! << 8)) & 0x3fff, (b[28]! | (b[29]! << 8)) & 0x3fff];
  }
  if (chunk === "VP8L" && b.length >= 25) {
    const bits = b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24);
    return [1 + (bits & 0x3fff), 1 + ((bits >>> 14) & 0x3fff)];
  }
  return null;
}

/** The media type of `bytes`, or null when it is none of PNG, JPEG, WebP. */
export function sniffMediaType(bytes: Uint8Array): C2paMediaType | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((v, i) => bytes[i] === v)) return "image/png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return "image/jpeg";
  }
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") {
    return "image/webp";
  }
  return null;
}

export interface SniffLimits {
  /** Largest accepted byte length. */
  maxBytes: number;
  /** Largest accepted width × height declared in the header. */
  maxPixels: number;
}

/**
 * Check that `bytes` are a PNG, JPEG or WebP within the limits, and say which.
 * Throws `invalid_image` (empty or unrecognisable header), `unsupported_media_type` (another
 * format, or a declared type that differs), `payload_too_large` or `image_too_large`.
 */
export function sniffImage(bytes: Uint8Array, limits: SniffLimits, declared?: string): Sniffed {
  if (bytes.byteLength === 0) throw new HallmarkError("invalid_image", "the image is empty");
  if (bytes.byteLength > limits.maxBytes) {
    throw new HallmarkError(
      "payload_too_large",
      `the image is ${bytes.byteLength} bytes; at most ${limits.maxBytes} are accepted`,
    );
  }
  const mediaType = sniffMediaType(bytes);
  if (!mediaType) {
    throw new HallmarkError(
      "unsupported_media_type",
      "the bytes are not a PNG, JPEG or WebP image",
    );
  }
  if (
    declared &&
    declared !== mediaType &&
    !(declared === "image/jpg" && mediaType === "image/jpeg")
  ) {
    throw new HallmarkError(
      "unsupported_media_type",
      `the bytes are ${mediaType}, not the declared ${declared}`,
    );
  }
  const size =
    mediaType === "image/png"
      ? pngSize(bytes)
      : mediaType === "image/jpeg"
        ? jpegSize(bytes)
        : webpSize(bytes);
  if (size) {
    const [width, height] = size;
    if (width * height > limits.maxPixels) {
      throw new HallmarkError(
        "image_too_large",
        `the image declares ${width}×${height} pixels; at most ${limits.maxPixels} are accepted`,
      );
    }
    return { mediaType, width, height };
  }
  return { mediaType, width: null, height: null };
}
