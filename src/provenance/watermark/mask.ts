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
/** Share of a textured cell's weight that its flat neighbours may carry (edge masking). */
const EDGE_SPREAD = 0.5;
/** SSIM's stabilising constant C2 = (0.03·255)² (Wang et al. 2004). */
const SSIM_C2 = (0.03 * 255) ** 2;
/** Bilinear rendering keeps (2/3)² of a cell's squared amplitude on average. */
export const RENDER_ENERGY = 4 / 9;

export interface Masking {
  /** Relative masking weight per cell (0 in flat cells). */
  weights: Float32Array;
  /**
   * SSIM cost per unit squared amplitude: rendered noise of variance σn² costs about
   * σn² / (2σ² + C2) of SSIM where the local variance is σ² (Wang et al. 2004, eq. 13).
   */
  ssimCost: Float32Array;
}

/** Masking weights and the SSIM cost of each cell. */
export function maskWeights(image: RawImage, geo: AnalysisGeometry): Masking {
  const { gridWidth: gw, gridHeight: gh, cell } = geo;
  const fineCell = cell >= 2 ? cell / 2 : 1;
  const fw = Math.max(1, Math.ceil(image.width / fineCell - 1e-9));
  const fh = Math.max(1, Math.ceil(image.height / fineCell - 1e-9));
  const fine = downsampleLuma(image, fineCell, fw, fh, 2);
  const sum = new Float64Array(gw * gh);
  const count = new Float64Array(gw * gh);
  const mean = new Float64Array(gw * gh);
  const meanSq = new Float64Array(gw * gh);
  if (fineCell * 2 === cell && fw <= 2 * gw && fh <= 2 * gh) {
    accumulateHalfCells(fine, fw, fh, gw, gh, sum, count, mean, meanSq);
  } else {
    accumulateGeneric(fine, fw, fh, gw, gh, fineCell / cell, sum, count, mean, meanSq);
  }
  const ssimCost = new Float32Array(gw * gh);
  // Local variance over 3×3 cells (about SSIM's 11-pixel window for 4-pixel cells).
  const s1 = box3(mean, gw, gh, false);
  const s2 = box3(meanSq, gw, gh, false);
  const n = box3(count, gw, gh, false);
  for (let i = 0; i < gw * gh; i++) {
    const variance = n[i]! > 0 ? Math.max(0, s2[i]! / n[i]! - (s1[i]! / n[i]!) ** 2) : 0;
    ssimCost[i] = RENDER_ENERGY / (2 * variance + SSIM_C2);
  }
  const out = new Float64Array(gw * gh);
  for (let i = 0; i < out.length; i++) {
    const texture = sum[i]! / Math.max(1, count[i]!) - FLAT_TEXTURE;
    // texture^0.75: masking grows a little slower than contrast.
    out[i] = texture > 0 ? Math.sqrt(texture * Math.sqrt(texture)) : 0;
  }
  // Edge masking: the eye also misses small changes right beside a strong edge, so a flat
  // cell touching a textured one may carry half its neighbour's weight. Flat illustrations,
  // whose only texture is their outlines, get most of their mark this way; flat areas more
  // than one cell from any texture stay untouched.
  const neighbours = box3(out, gw, gh, true);
  const spread = new Float32Array(gw * gh);
  for (let i = 0; i < gw * gh; i++) spread[i] = Math.max(out[i]!, EDGE_SPREAD * neighbours[i]!);
  return { weights: spread, ssimCost };
}

/**
 * Forward differences |F(x+1) - F(x)| + |F(y+1) - F(y)| per fine cell (the local contrast at
 * the fine scale, including across the cell's border), with the sums of F and F², gathered
 * per cell. This version is for the common case of 2×2 fine cells per cell and keeps the
 * sums in registers.
 */
function accumulateHalfCells(
  fine: Float32Array,
  fw: number,
  fh: number,
  gw: number,
  gh: number,
  sum: Float64Array,
  count: Float64Array,
  mean: Float64Array,
  meanSq: Float64Array,
): void {
  for (let j = 0; j < gh; j++) {
    for (let i = 0; i < gw; i++) {
      let t = 0;
      let n = 0;
      let m = 0;
      let m2 = 0;
      for (let y = 2 * j; y < Math.min(fh, 2 * j + 2); y++) {
        const o = y * fw;
        const below = y < fh - 1 ? fw : 0;
        for (let x = 2 * i; x < Math.min(fw, 2 * i + 2); x++) {
          const v = fine[o + x]!;
          const right = x < fw - 1 ? fine[o + x + 1]! : v;
          t += Math.abs(right - v) + Math.abs(fine[o + x + below]! - v);
          n++;
          m += v;
          m2 += v * v;
        }
      }
      const c = j * gw + i;
      sum[c] = t;
      count[c] = n;
      mean[c] = m;
      meanSq[c] = m2;
    }
  }
}

/** The same gathering for any ratio of fine cells to cells (small images). */
function accumulateGeneric(
  fine: Float32Array,
  fw: number,
  fh: number,
  gw: number,
  gh: number,
  ratio: number,
  sum: Float64Array,
  count: Float64Array,
  mean: Float64Array,
  meanSq: Float64Array,
): void {
  const cellOfX = new Int32Array(fw);
  for (let x = 0; x < fw; x++) cellOfX[x] = Math.min(gw - 1, Math.floor((x + 0.5) * ratio));
  for (let y = 0; y < fh; y++) {
    const row = Math.min(gh - 1, Math.floor((y + 0.5) * ratio)) * gw;
    const o = y * fw;
    const below = y < fh - 1 ? fw : 0;
    for (let x = 0; x < fw; x++) {
      const v = fine[o + x]!;
      const right = x < fw - 1 ? fine[o + x + 1]! : v;
      const c = row + cellOfX[x]!;
      sum[c]! += Math.abs(right - v) + Math.abs(fine[o + x + below]! - v);
      count[c]! += 1;
      mean[c]! += v;
      meanSq[c]! += v * v;
    }
  }
}

/** 3×3 neighbourhood sum (max when `takeMax`), separable, edge-clamped. */
function box3(v: Float64Array, w: number, h: number, takeMax: boolean): Float64Array {
  const tmp = new Float64Array(w * h);
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      const a = v[o + x]!;
      const l = x > 0 ? v[o + x - 1]! : a;
      const r = x < w - 1 ? v[o + x + 1]! : a;
      tmp[o + x] = takeMax ? Math.max(a, l, r) : a + (x > 0 ? l : 0) + (x < w - 1 ? r : 0);
    }
  }
  for (let y = 0; y < h; y++) {
    const up = y > 0 ? -w : 0;
    const down = y < h - 1 ? w : 0;
    for (let x = 0; x < w; x++) {
      const o = y * w + x;
      const a = tmp[o]!;
      out[o] = takeMax
        ? Math.max(a, tmp[o + up]!, tmp[o + down]!)
        : a + (up ? tmp[o + up]! : 0) + (down ? tmp[o + down]! : 0);
    }
  }
  return out;
}

/**
 * Scales masking weights into cell amplitudes (grey levels), the largest scale k for which
 * the rendered mean squared change stays within `targetMse` and the estimated SSIM loss
 * within `ssimBudget`, no cell above `maxAmplitude`. Returns null when the image has no
 * texture to hide a mark in.
 */
export function amplitudes(
  masking: Masking,
  targetMse: number,
  ssimBudget: number,
  maxAmplitude: number,
): Float32Array | null {
  const { weights, ssimCost } = masking;
  const n = weights.length;
  let sumSq = 0;
  for (let i = 0; i < n; i++) sumSq += weights[i]! * weights[i]!;
  if (sumSq === 0) return null;
  // Both budgets grow monotonically with k: solve each by Newton steps, keep the smaller.
  const mseCost = new Float32Array(n).fill(RENDER_ENERGY);
  const k = Math.min(
    solveScale(weights, mseCost, targetMse * n, maxAmplitude),
    solveScale(weights, ssimCost, ssimBudget * n, maxAmplitude),
  );
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(maxAmplitude, k * weights[i]!);
  return out;
}

/** The k with Σ cost·min(cap, k·w)² = target (or the largest k when the caps stop it). */
function solveScale(w: Float32Array, cost: Float32Array, target: number, cap: number): number {
  let weighted = 0;
  for (let i = 0; i < w.length; i++) weighted += cost[i]! * w[i]! * w[i]!;
  let k = Math.sqrt(target / weighted);
  for (let iter = 0; iter < 6; iter++) {
    let total = 0;
    let free = 0;
    for (let i = 0; i < w.length; i++) {
      const a = k * w[i]!;
      if (a >= cap) total += cost[i]! * cap * cap;
      else {
        total += cost[i]! * a * a;
        free += cost[i]! * w[i]! * w[i]!;
      }
    }
    if (total >= target * 0.98 || free === 0) break;
    k += (target - total) / (2 * k * free);
  }
  return k;
}
