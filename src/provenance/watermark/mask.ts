import type { AnalysisGeometry } from "./geometry.js";
import { downsampleLuma } from "./luma.js";
import type { RawImage } from "./types.js";

/**
 * Perceptual masking: how strongly each cell may be marked. Texture hides noise roughly in
 * proportion to its contrast (the contrast-masking term of Watson's and Chou & Li's models)
 * and a flat area hides almost nothing, so cells whose texture is below `FLAT_TEXTURE` grey
 * levels get no mark at all: skies, studio backdrops and flat illustration fills stay
 * untouched. Texture is measured on a grid twice as fine as the cells (or on the pixels of
 * small images), in the same single pass over the image.
 */
const FLAT_TEXTURE = 1.5;
/** Bilinear rendering keeps (2/3)² of a cell's squared amplitude on average. */
export const RENDER_ENERGY = 4 / 9;

/** Relative masking weight per cell (0 in flat cells). */
export function maskWeights(image: RawImage, geo: AnalysisGeometry): Float32Array {
  const { gridWidth: gw, gridHeight: gh, cell } = geo;
  const fineCell = cell >= 2 ? cell / 2 : 1;
  const fw = Math.max(1, Math.ceil(image.width / fineCell - 1e-9));
  const fh = Math.max(1, Math.ceil(image.height / fineCell - 1e-9));
  const fine = downsampleLuma(image, fineCell, fw, fh);
  const sum = new Float32Array(gw * gh);
  const count = new Float32Array(gw * gh);
  const ratio = fineCell / cell;
  const cellOfX = new Int32Array(fw);
  for (let x = 0; x < fw; x++) cellOfX[x] = Math.min(gw - 1, Math.floor((x + 0.5) * ratio));
  for (let y = 0; y < fh; y++) {
    const row = Math.min(gh - 1, Math.floor((y + 0.5) * ratio)) * gw;
    const o = y * fw;
    for (let x = 0; x < fw; x++) {
      const v = fine[o + x]!;
      // Mean absolute difference to the four neighbours: local contrast at the fine scale.
      const l = x > 0 ? fine[o + x - 1]! : v;
      const r = x < fw - 1 ? fine[o + x + 1]! : v;
      const u = y > 0 ? fine[o + x - fw]! : v;
      const d = y < fh - 1 ? fine[o + x + fw]! : v;
      const t = (Math.abs(v - l) + Math.abs(v - r) + Math.abs(v - u) + Math.abs(v - d)) * 0.5;
      const c = row + cellOfX[x]!;
      sum[c]! += t;
      count[c]! += 1;
    }
  }
  const out = new Float32Array(gw * gh);
  for (let i = 0; i < out.length; i++) {
    const texture = sum[i]! / Math.max(1, count[i]!) - FLAT_TEXTURE;
    // texture^0.75: masking grows a little slower than contrast.
    out[i] = texture > 0 ? Math.sqrt(texture * Math.sqrt(texture)) : 0;
  }
  return out;
}

/**
 * Scales masking weights into cell amplitudes (grey levels) whose rendered mean squared
 * change is `targetMse`, no cell above `maxAmplitude`. Returns null when the image has no
 * texture to hide a mark in.
 */
export function amplitudes(
  weights: Float32Array,
  targetMse: number,
  maxAmplitude: number,
): Float32Array | null {
  const n = weights.length;
  let sumSq = 0;
  for (let i = 0; i < n; i++) sumSq += weights[i]! * weights[i]!;
  if (sumSq === 0) return null;
  let k = Math.sqrt((targetMse * n) / (RENDER_ENERGY * sumSq));
  // Capped cells give up energy; raise k until the budget is met (monotone, converges fast).
  for (let iter = 0; iter < 6; iter++) {
    let energy = 0;
    for (let i = 0; i < n; i++) {
      const a = Math.min(maxAmplitude, k * weights[i]!);
      energy += a * a;
    }
    const ratio = (targetMse * n) / (RENDER_ENERGY * energy);
    if (ratio < 1.02) break;
    k *= Math.sqrt(ratio);
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(maxAmplitude, k * weights[i]!);
  return out;
}
