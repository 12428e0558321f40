import sharp, { type Metadata } from "sharp";
import { findImagesBySha256, sha256Hex } from "../audit/index.js";
import type { Db } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import type { C2pa, ReadResult } from "../provenance/c2pa/index.js";

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
  /** What the image's C2PA manifest says, validated against the anchors in force (null: not checked). */
  c2pa: C2paVerdict | null;
  /** Checks that ran, and those that are not built yet. */
  checks: Array<{ name: string; status: "applied" | "absent"; note?: string }>;
}

export interface C2paVerdict {
  present: boolean;
  validation_state: ReadResult["validationState"];
  failures: ReadResult["failures"];
  active_manifest: string | null;
  claim_generator: string | null;
  signer: ReadResult["signer"];
  signed_by_this_gateway: boolean;
  signing_time: string | null;
  asserted_time: string | null;
  time_stamp: ReadResult["timeStamp"];
  ai_generated: boolean;
  digital_source_type: string | null;
  actions: ReadResult["actions"];
  ingredients: ReadResult["ingredients"];
  licence: ReadResult["licence"];
  training_mining: ReadResult["trainingMining"];
  generation: ReadResult["generation"];
  soft_binding: ReadResult["softBinding"];
  anchors: ReadResult["anchors"];
}

function toVerdict(r: ReadResult): C2paVerdict {
  return {
    present: r.present,
    validation_state: r.validationState,
    failures: r.failures,
    active_manifest: r.activeManifest,
    claim_generator: r.claimGenerator,
    signer: r.signer,
    signed_by_this_gateway: r.signedByThisGateway,
    signing_time: r.signingTime,
    asserted_time: r.assertedTime,
    time_stamp: r.timeStamp,
    ai_generated: r.aiGenerated,
    digital_source_type: r.digitalSourceType,
    actions: r.actions,
    ingredients: r.ingredients,
    licence: r.licence,
    training_mining: r.trainingMining,
    generation: r.generation,
    soft_binding: r.softBinding,
    anchors: r.anchors,
  };
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
 * What an image carries: whether these exact bytes were made here (SHA-256 lookup) and by which
 * generation, and what its C2PA manifest says (validated against the anchors in force).
 * Watermark detection plugs in here.
 */
export async function verifyImage(
  deps: { db: Db; maxInputPixels: number; c2pa?: C2pa },
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
  const [rows, manifest] = await Promise.all([
    findImagesBySha256(deps.db, sha256),
    deps.c2pa ? deps.c2pa.read(bytes) : Promise.resolve(null),
  ]);
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
    c2pa: manifest ? toVerdict(manifest) : null,
    checks: [
      { name: "sha256_lookup", status: "applied" },
      deps.c2pa
        ? { name: "c2pa", status: "applied" }
        : { name: "c2pa", status: "absent", note: "C2PA reading is not configured" },
      { name: "watermark", status: "absent", note: "watermark detection is not wired yet" },
    ],
  };
}
