import type { GeneratedImage } from "../generate/index.js";
import {
  decodeImage,
  newMarkId,
  type RawImage,
  WATERMARK_ALG,
  type WatermarkEngine,
} from "../provenance/watermark/index.js";

/** An image after the watermark stage: marked pixels (or the original, with the reason). */
export interface WatermarkedImage {
  raw: RawImage;
  markId: string | null;
  /** For the C2PA soft-binding assertion (value: the 8 payload bytes, base64). */
  softBinding?: { alg: string; value: string };
  mark: Record<string, unknown>;
}

/**
 * Embeds the invisible mark (issuer key id + a random mark id) in every output. The mark id is
 * stored with the image row, so a copy stripped of its metadata leads back to its generation and
 * stored manifest. Images too small to carry the mark are returned unmarked, with the reason.
 */
export async function watermarkOutputs(
  watermarker: WatermarkEngine,
  issuerKeyId: number,
  images: Array<GeneratedImage & { raw?: RawImage }>,
  maxPixels: number,
): Promise<WatermarkedImage[]> {
  const out: WatermarkedImage[] = [];
  for (const image of images) {
    // Pixels the output screen decoded are marked as they are; otherwise decoded here.
    const raw = image.raw ?? (await decodeImage(image.bytes, { maxPixels }));
    const markId = newMarkId();
    const result = await watermarker.embed(raw, { issuerKeyId, markId });
    if (!result.applied) {
      out.push({
        raw,
        markId: null,
        mark: { kind: "watermark", applied: false, reason: result.reason },
      });
      continue;
    }
    // Perceptual masking leaves perfectly flat images untouched (infinite PSNR): no mark to find.
    if (!Number.isFinite(result.psnr)) {
      out.push({
        raw,
        markId: null,
        mark: { kind: "watermark", applied: false, reason: "no_texture" },
      });
      continue;
    }
    const payload = Buffer.alloc(8);
    payload.writeUInt16BE(issuerKeyId, 0);
    payload.write(markId, 2, "hex");
    out.push({
      raw: result.image,
      markId,
      softBinding: { alg: WATERMARK_ALG, value: payload.toString("base64") },
      mark: {
        kind: "watermark",
        applied: true,
        alg: WATERMARK_ALG,
        issuer_key_id: issuerKeyId,
        mark_id: markId,
        psnr: Math.round(result.psnr * 100) / 100,
      },
    });
  }
  return out;
}
