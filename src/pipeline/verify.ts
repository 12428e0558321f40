import sharp, { type Metadata } from "sharp";
import { findImagesBySha256, sha256Hex } from "../audit/index.js";
import type { Db } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";

export interface VerifyResult {
  sha256: string;
  media_type: string;
  width: number;
  height: number;
  /** True when these exact bytes were produced by this gateway. */
  produced_here: boolean;
  generations: Array<{
    generation_id: string;
    created_at: string;
    model: string;
    image_index: number;
  }>;
  /** Checks that ran, and those that are not built yet. */
  checks: Array<{ name: string; status: "applied" | "absent"; note?: string }>;
}

const FORMATS: Record<string, string> = {
  png: "image/png",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  tiff: "image/tiff",
  avif: "image/avif",
  heif: "image/heif",
};

/**
 * What an image carries. In this version: whether these exact bytes were made here (SHA-256
 * lookup) and by which generation. C2PA reading and watermark detection plug in here.
 */
export async function verifyImage(
  deps: { db: Db; maxInputPixels: number },
  bytes: Uint8Array,
): Promise<VerifyResult> {
  if (bytes.length === 0)
    throw new HallmarkError("invalid_image", "The body is empty; send an image.");
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: deps.maxInputPixels }).metadata();
  } catch (error) {
    const tooBig = /pixel limit/i.test(String((error as Error).message));
    throw new HallmarkError(
      tooBig ? "image_too_large" : "invalid_image",
      tooBig
        ? "The image has more pixels than this gateway decodes."
        : "The body is not a readable image.",
      { cause: error },
    );
  }
  if (!meta.width || !meta.height)
    throw new HallmarkError("invalid_image", "The image has no dimensions.");
  if (meta.width * meta.height > deps.maxInputPixels) {
    throw new HallmarkError(
      "image_too_large",
      "The image has more pixels than this gateway decodes.",
    );
  }
  const sha256 = sha256Hex(bytes);
  const rows = await findImagesBySha256(deps.db, sha256);
  return {
    sha256,
    media_type: FORMATS[meta.format ?? ""] ?? `image/${meta.format}`,
    width: meta.width,
    height: meta.height,
    produced_here: rows.length > 0,
    generations: rows.map((r) => ({
      generation_id: r.generation.id,
      created_at: r.generation.createdAt.toISOString(),
      model: r.generation.model,
      image_index: r.image.index,
    })),
    checks: [
      { name: "sha256_lookup", status: "applied" },
      { name: "c2pa", status: "absent", note: "C2PA reading is not wired yet" },
      { name: "watermark", status: "absent", note: "watermark detection is not wired yet" },
    ],
  };
}
