/**
 * Public types of the invisible watermark. Images cross this boundary as 8-bit interleaved
 * pixels, exactly as sharp's `.raw()` returns them, so callers never convert.
 */

/** 8-bit interleaved pixels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA (sharp's `.raw()` layout). */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/**
 * What the mark carries: 64 bits. `issuerKeyId` (16 bits) names the issuing gateway key, so a
 * detector can tell marks of several issuers or key generations apart; `markId` (48 bits, 12
 * lowercase hex digits) is random per image and resolves, through the audit database, to the
 * generation and its stored C2PA manifest.
 */
export interface WatermarkPayload {
  issuerKeyId: number;
  markId: string;
}

export type EmbedResult =
  | {
      applied: true;
      image: RawImage;
      /** PSNR of the marked image against the input over all colour channels, in dB. */
      psnr: number;
    }
  | {
      applied: false;
      /** Stable machine-readable reason, e.g. `too_small`. */
      reason: "too_small";
      message: string;
    };

/** The geometric transform the detector found between the embedded mark and this image. */
export interface WatermarkTransform {
  /** Rotation of the image content in degrees, clockwise positive as sharp's `rotate`. */
  rotationDeg: number;
  /** True when the image is mirrored (a flip, possibly combined with a rotation). */
  flipped: boolean;
  /**
   * Size of a mark cell relative to the size an unmodified image of these dimensions would
   * carry: 1 for an untouched image or a uniform resize, about 1.41 for a crop that kept half
   * the area (or an enlargement of a crop). Cells are at least 3 px (geometry.ts), so for
   * images under about 850 px (square root of the area) a crop can also read as 1.
   */
  scale: number;
  /** Size of one mark cell in this image's pixels. */
  cellSizePx: number;
}

export interface DetectedMark {
  payload: WatermarkPayload;
  payloadHex: string;
  /** 0..1: for a decoded mark, 1 − the false-positive bound (≈ 0.9999995). */
  confidence: number;
  transform: WatermarkTransform;
}

export interface DetectResult {
  detected: boolean;
  /** The strongest mark found (present when `detected`). */
  payload?: WatermarkPayload;
  payloadHex?: string;
  /**
   * 0..1. A decoded mark: 1 − its false-positive bound (≈ 0.9999995). Nothing decoded: the
   * synchronisation strength of the best candidate (under ~0.2 for unmarked images; higher
   * means a mark is probably there but too damaged to read).
   */
  confidence: number;
  transform?: WatermarkTransform;
  /**
   * Further, weaker marks of the same key found in the image (e.g. an image marked twice):
   * each decoded on its own, never mixed with the strongest one.
   */
  others?: DetectedMark[];
}

/**
 * The algorithm name for the C2PA soft-binding assertion (`c2pa.soft-binding`, field `alg`).
 * C2PA keeps a registry of soft-binding algorithm names; until this one is registered it is
 * vendor-namespaced under the project's reverse domain, as the specification allows.
 */
export const WATERMARK_ALG = "org.hallmark.watermark.v1";
