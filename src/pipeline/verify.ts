import {
  findImagesByMarkId,
  findImagesBySha256,
  findImagesNearPdq,
  sha256Hex,
} from "../audit/index.js";
import type { Db } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import type { C2pa, ReadResult } from "../provenance/c2pa/index.js";
import { type PdqHasher, pdqHashRawForLookup } from "../provenance/fingerprint/index.js";
import {
  type DecodedImage,
  decodeImage,
  type WatermarkEngine,
} from "../provenance/watermark/index.js";

export interface VerifyResult {
  sha256: string;
  media_type: string;
  width: number;
  height: number;
  /** True when this gateway made the image: exact bytes, its own valid manifest, or a known mark. */
  produced_here: boolean;
  /** Generations that produced these exact bytes. */
  generations: Array<{
    generation_id: string;
    created_at: string;
    model: string;
    image_index: number;
  }>;
  /** The invisible watermark (null: no detector configured). */
  watermark: {
    detected: boolean;
    payload_hex: string | null;
    issuer_key_id: number | null;
    mark_id: string | null;
    confidence: number;
    transform: unknown;
    /** The mark id belongs to an image this gateway produced. */
    known: boolean;
  } | null;
  /**
   * Durable credentials: when the watermark leads to an image made here, its generation and the
   * C2PA manifest stored at signing time, so a copy stripped of metadata gets its credentials back.
   */
  durable_credentials: {
    generation_id: string;
    created_at: string;
    model: string;
    licence: unknown;
    manifest_label: string | null;
    manifest_base64: string | null;
  } | null;
  /** Images made here that look the same (PDQ perceptual hash within the threshold). */
  similar: Array<{ generation_id: string; image_index: number; distance: number }>;
  /** What the image's C2PA manifest says, validated against the anchors in force (null: not checked). */
  c2pa: C2paVerdict | null;
  /** Checks that ran, and those that are not configured. */
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

export interface VerifyDeps {
  db: Db;
  maxInputPixels: number;
  /** PDQ Hamming distance at or under which a stored image counts as similar. */
  pdqThreshold: number;
  c2pa?: C2pa;
  watermark?: WatermarkEngine;
  /** PDQ hashing (default in-process; the CPU pool's keeps it off the event loop). */
  pdq?: PdqHasher;
}

/**
 * What an image carries: whether these exact bytes were made here (SHA-256 lookup), what its C2PA
 * manifest says (validated against the anchors in force), and, when metadata was stripped,
 * whether the invisible watermark leads back to a generation and its stored manifest; the
 * perceptual hash finds look-alikes made here.
 */
export async function verifyImage(deps: VerifyDeps, bytes: Uint8Array): Promise<VerifyResult> {
  if (bytes.length === 0)
    throw new HallmarkError("invalid_image", "The body is empty; send an image.");
  // One decode serves the watermark detector and the perceptual hash; it enforces the pixel limit.
  const decoded: DecodedImage = await decodeImage(bytes, { maxPixels: deps.maxInputPixels });
  const sha256 = sha256Hex(bytes);
  const [detection, pdq] = await Promise.all([
    deps.watermark ? deps.watermark.detect(decoded) : null,
    pdqHashRawForLookup(decoded, deps.pdq),
  ]);
  const [rows, manifest, marked, similar] = await Promise.all([
    findImagesBySha256(deps.db, sha256),
    deps.c2pa ? deps.c2pa.read(bytes) : Promise.resolve(null),
    detection?.detected && detection.payload
      ? findImagesByMarkId(deps.db, detection.payload.markId)
      : Promise.resolve([]),
    pdq.quality >= 50
      ? findImagesNearPdq(deps.db, pdq.hash, deps.pdqThreshold)
      : Promise.resolve([]),
  ]);
  const origin = marked[0];
  return {
    sha256,
    media_type: FORMATS[decoded.format] ?? `image/${decoded.format}`,
    width: decoded.width,
    height: decoded.height,
    produced_here:
      rows.length > 0 ||
      marked.length > 0 ||
      (manifest?.signedByThisGateway === true && manifest.validationState !== "Invalid"),
    generations: rows.map((r) => ({
      generation_id: r.generation.id,
      created_at: r.generation.createdAt.toISOString(),
      model: r.generation.model,
      image_index: r.image.index,
    })),
    watermark: detection
      ? {
          detected: detection.detected,
          payload_hex: detection.payloadHex ?? null,
          issuer_key_id: detection.payload?.issuerKeyId ?? null,
          mark_id: detection.payload?.markId ?? null,
          confidence: detection.confidence,
          transform: detection.transform ?? null,
          known: marked.length > 0,
        }
      : null,
    durable_credentials: origin
      ? {
          generation_id: origin.generation.id,
          created_at: origin.generation.createdAt.toISOString(),
          model: origin.generation.model,
          licence: (origin.generation.params as { licence?: unknown }).licence ?? null,
          manifest_label: origin.image.c2paLabel,
          manifest_base64: origin.image.c2paManifest?.toString("base64") ?? null,
        }
      : null,
    similar: similar.map((r) => ({
      generation_id: r.generation.id,
      image_index: r.image.index,
      distance: r.distance,
    })),
    c2pa: manifest ? toVerdict(manifest) : null,
    checks: [
      { name: "sha256_lookup", status: "applied" },
      deps.c2pa
        ? { name: "c2pa", status: "applied" }
        : { name: "c2pa", status: "absent", note: "C2PA reading is not configured" },
      deps.watermark
        ? { name: "watermark", status: "applied" }
        : { name: "watermark", status: "absent", note: "watermark detection is not configured" },
      { name: "pdq_lookup", status: "applied" },
    ],
  };
}
