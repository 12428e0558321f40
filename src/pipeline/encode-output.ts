import sharp, { type Sharp } from "sharp";
import { sha256Hex } from "../audit/index.js";
import type { GeneratedImage } from "../generate/index.js";
import type { RawImage } from "../provenance/watermark/index.js";
import type { OutputImage } from "./finish.js";
import type { OutputFormat } from "./run.js";
import type { WatermarkedImage } from "./stage-watermark.js";

export const MEDIA_TYPES: Record<OutputFormat, string> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
};

/** Converts an unmarked image to the requested format; passes the bytes through when they already are. */
export async function encodeOutput(
  image: GeneratedImage,
  format: OutputFormat,
  quality: number | undefined,
): Promise<OutputImage> {
  let bytes = image.bytes;
  if (image.mediaType !== MEDIA_TYPES[format] || quality !== undefined) {
    bytes = await encodeWith(sharp(image.bytes), format, quality);
  }
  return output(bytes, format, image, []);
}

/** Encodes watermarked pixels in the requested format, one output per generated image. */
export function encodeMarked(
  marked: WatermarkedImage[],
  generated: GeneratedImage[],
  format: OutputFormat,
  quality: number | undefined,
): Promise<OutputImage[]> {
  return Promise.all(
    marked.map(async (m, i) => {
      const bytes = await encodeWith(fromRaw(m.raw), format, quality);
      return output(bytes, format, generated[i]!, [m.mark]);
    }),
  );
}

function fromRaw(raw: RawImage): Sharp {
  return sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
}

/**
 * OpenAI's output_compression is 0–100; sharp's quality is 1–100 (0 made it throw, which the
 * watermark stage reported as a 503: found by the sweep).
 */
function sharpQuality(quality: number | undefined): number {
  return quality === undefined ? 92 : Math.min(100, Math.max(1, Math.round(quality)));
}

function encodeWith(s: Sharp, format: OutputFormat, quality: number | undefined): Promise<Buffer> {
  switch (format) {
    case "png":
      return s.png().toBuffer();
    case "jpeg":
      return s.jpeg({ quality: sharpQuality(quality) }).toBuffer();
    case "webp":
      return s.webp({ quality: sharpQuality(quality) }).toBuffer();
  }
}

function output(
  bytes: Buffer,
  format: OutputFormat,
  source: GeneratedImage,
  marks: unknown[],
): OutputImage {
  return {
    bytes,
    mediaType: MEDIA_TYPES[format],
    sha256: sha256Hex(bytes),
    width: source.width,
    height: source.height,
    seed: source.seed,
    marks,
  };
}
