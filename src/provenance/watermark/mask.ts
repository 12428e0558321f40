import type { LumaGrid } from "./luma.js";

/**
 * Perceptual masking: how strongly each cell may be marked. Texture hides noise roughly in
 * proportion to its contrast (the contrast-masking term of Watson's and Chou & Li's models),
 * and a flat cell hides almost nothing, so cells whose texture is below `FLAT_GRADIENT`
 * get no mark at all: skies, studio backdrops and flat illustration fills stay untouched.
 */
const FLAT_GRADIENT = 1.5;
const MASK_EXPONENT = 0.8;
/** Bilinear rendering keeps (2/3)² of a cell's squared amplitude on average. */
export const RENDER_ENERGY = 4 / 9;

/** Relative masking weight per cell (0 in flat cells). */
export function maskWeights(grid: LumaGrid): Float32Array {
  const { width: w, height: h, luma } = grid;
  const act = grid.activity!;
  const out = new Float32Array(w * h);
  for (let j = 0; j < h; j++) {
    const up = j > 0 ? -w : 0;
    const down = j < h - 1 ? w : 0;
    for (let i = 0; i < w; i++) {
      const p = j * w + i;
      const left = i > 0 ? -1 : 0;
      const right = i < w - 1 ? 1 : 0;
      const lap =
        Math.abs(
          4 * luma[p]! - luma[p + left]! - luma[p + right]! - luma[p + up]! - luma[p + down]!,
        ) / 4;
      const texture = act[p]! + 0.5 * lap - FLAT_GRADIENT;
      out[p] = texture > 0 ? texture ** MASK_EXPONENT : 0;
    }
  }
  return out;
}

/**
 * Scales masking weights into cell amplitudes (grey levels) whose rendered mean squared
 * change is `targetMse`, no cell above `maxAmplitude`. Returns the amplitudes, or null when
 * the image has no texture to hide a mark in.
 */
export function amplitudes(
  weights: Float32Array,
  targetMse: number,
  maxAmplitude: number,
): Float32Array | null {
  let sumSq = 0;
  for (const v of weights) sumSq += v * v;
  if (sumSq === 0) return null;
  const n = weights.length;
  let k = Math.sqrt((targetMse * n) / (RENDER_ENERGY * sumSq));
  // Capped cells give up energy; raise k until the budget is met (monotone, converges fast).
  for (let iter = 0; iter < 8; iter++) {
    let energy = 0;
    for (const v of weights) {
      const a = Math.min(maxAmplitude, k * v);
      energy += a * a;
    }
    const ratio = (targetMse * n) / (RENDER_ENERGY * energy);
    if (ratio < 1.01) break;
    k *= Math.sqrt(ratio);
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(maxAmplitude, k * weights[i]!);
  return out;
}
