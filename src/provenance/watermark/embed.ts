import { convEncode } from "./conv-code.js";
import { embedGeometry } from "./geometry.js";
import { keyedStream, type WatermarkKey } from "./key.js";
import { amplitudes, maskWeights } from "./mask.js";
import { encodePayloadHex, payloadToInfoBits } from "./payload.js";
import { renderMark } from "./render.js";
import { TILE, type TileLayout, tilePattern } from "./tile.js";
import type { EmbedResult, RawImage, WatermarkPayload } from "./types.js";

/** Images with a side under this many pixels are not marked (too few tiles to find). */
export const MIN_EMBED_SIDE = 128;

export interface EmbedOptions {
  /** Mean squared change aimed at, as a PSNR in dB (the masking decides where it goes). */
  targetPsnr: number;
  /** No cell is changed by more than this many grey levels. */
  maxAmplitude: number;
  /** Estimated mean SSIM loss allowed (SSIM on luma, Wang et al. 2004). */
  ssimLoss: number;
  /** The PSNR the result must reach; the mark is weakened to meet it. */
  minPsnr: number;
}

export const DEFAULT_EMBED_OPTIONS: EmbedOptions = {
  targetPsnr: 41.2,
  maxAmplitude: 10,
  ssimLoss: 0.016,
  minPsnr: 40.3,
};

/**
 * Adds the mark: the keyed tile (pilot signs and code bits) repeated over the analysis grid
 * from a payload-dependent origin, each cell scaled by its masking amplitude, rendered to
 * full resolution. The origin differs between payloads, so a second mark embedded over a
 * first sits at another tile offset and each is decoded on its own, never as a mixture.
 */
export function embedMark(
  key: WatermarkKey,
  layout: TileLayout,
  image: RawImage,
  payload: WatermarkPayload,
  options: EmbedOptions,
): EmbedResult {
  const { width, height } = image;
  if (Math.min(width, height) < MIN_EMBED_SIDE) {
    return {
      applied: false,
      reason: "too_small",
      message: `images under ${MIN_EMBED_SIDE} px on a side are not marked`,
    };
  }
  const geo = embedGeometry(width, height);
  const targetMse = (255 * 255) / 10 ** (options.targetPsnr / 10);
  const masking = maskWeights(image, geo);
  const amps = amplitudes(masking, targetMse, options.ssimLoss, options.maxAmplitude);
  if (!amps) {
    return { applied: true, image: copyImage(image), psnr: Number.POSITIVE_INFINITY };
  }
  const pattern = tilePattern(layout, convEncode(payloadToInfoBits(payload)));
  const origin = keyedStream(key, `origin\0${encodePayloadHex(payload)}`, 2);
  const ox = origin[0]! % TILE;
  const oy = origin[1]! % TILE;
  const gw = geo.gridWidth;
  const delta = new Float32Array(gw * geo.gridHeight);
  for (let j = 0; j < geo.gridHeight; j++) {
    const row = ((j + oy) % TILE) * TILE;
    for (let i = 0; i < gw; i++)
      delta[j * gw + i] = amps[j * gw + i]! * pattern[row + ((i + ox) % TILE)]!;
  }
  let result = renderMark(image, geo, delta);
  if (result.psnr < options.minPsnr) {
    // Clipping and rounding rarely push the change over budget: weaken once, with margin.
    const factor = 10 ** ((result.psnr - options.minPsnr - 0.2) / 20);
    for (let i = 0; i < delta.length; i++) delta[i]! *= factor;
    result = renderMark(image, geo, delta);
  }
  return { applied: true, image: result.image, psnr: result.psnr };
}

function copyImage(image: RawImage): RawImage {
  return { ...image, data: new Uint8Array(image.data) };
}
