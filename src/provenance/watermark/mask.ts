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
  // Local variance over 3×3 cells (about SSIM's 11-pixel window for 4-pixel cells).
  const ssimCost = localSsimCost(mean, meanSq, count, gw, gh);
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
  return { weights: edgeSpread(out, gw, gh), ssimCost };
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
  // Cells whose 2×2 fine cells all have right and lower neighbours (all but the last row and
  // column) take a straight-line path over their 3×3 fine neighbourhood: same sums, same order.
  const interiorW = Math.max(0, Math.min(gw, Math.ceil((fw - 2) / 2)));
  for (let j = 0; j < gh; j++) {
    let first = 0;
    if (2 * j + 2 < fh) {
      const o0 = 2 * j * fw;
      const o1 = o0 + fw;
      const o2 = o1 + fw;
      for (let i = 0; i < interiorW; i++) {
        const x = 2 * i;
        const v00 = fine[o0 + x]!;
        const v01 = fine[o0 + x + 1]!;
        const v02 = fine[o0 + x + 2]!;
        const v10 = fine[o1 + x]!;
        const v11 = fine[o1 + x + 1]!;
        const v12 = fine[o1 + x + 2]!;
        const v20 = fine[o2 + x]!;
        const v21 = fine[o2 + x + 1]!;
        let t = Math.abs(v01 - v00) + Math.abs(v10 - v00);
        t += Math.abs(v02 - v01) + Math.abs(v11 - v01);
        t += Math.abs(v11 - v10) + Math.abs(v20 - v10);
        t += Math.abs(v12 - v11) + Math.abs(v21 - v11);
        const c = j * gw + i;
        sum[c] = t;
        count[c] = 4;
        mean[c] = v00 + v01 + v10 + v11;
        meanSq[c] = v00 * v00 + v01 * v01 + v10 * v10 + v11 * v11;
      }
      first = interiorW;
    }
    for (let i = first; i < gw; i++) {
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

/** Horizontal 3-cell sums of one row (edge cells sum only what exists). */
function rowSum3(v: Float64Array, out: Float64Array, o: number, w: number): void {
  out[o] = v[o]! + (w > 1 ? v[o + 1]! : 0);
  for (let x = 1; x < w - 1; x++) out[o + x] = v[o + x]! + v[o + x - 1]! + v[o + x + 1]!;
  if (w > 1) out[o + w - 1] = v[o + w - 1]! + v[o + w - 2]!;
}

/**
 * SSIM cost per cell from the local variance over 3×3 cells (separable sums of the cell
 * sums, their squares and the sample counts; the vertical pass computes the cost directly,
 * so no summed copies are kept).
 */
function localSsimCost(
  mean: Float64Array,
  meanSq: Float64Array,
  count: Float64Array,
  w: number,
  h: number,
): Float32Array {
  const h1 = new Float64Array(w * h);
  const h2 = new Float64Array(w * h);
  const hn = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    rowSum3(mean, h1, y * w, w);
    rowSum3(meanSq, h2, y * w, w);
    rowSum3(count, hn, y * w, w);
  }
  const cost = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    const up = y > 0 ? o - w : o;
    const down = y < h - 1 ? o + w : o;
    // Missing rows add nothing: their offset points at this row and their factor is 0.
    const fu = y > 0 ? 1 : 0;
    const fd = y < h - 1 ? 1 : 0;
    for (let x = 0; x < w; x++) {
      const n = sum3(hn[o + x]!, hn[up + x]!, hn[down + x]!, fu, fd);
      if (n > 0) {
        const s1 = sum3(h1[o + x]!, h1[up + x]!, h1[down + x]!, fu, fd);
        const s2 = sum3(h2[o + x]!, h2[up + x]!, h2[down + x]!, fu, fd);
        const variance = Math.max(0, s2 / n - (s1 / n) ** 2);
        cost[o + x] = RENDER_ENERGY / (2 * variance + SSIM_C2);
      } else cost[o + x] = RENDER_ENERGY / SSIM_C2;
    }
  }
  return cost;
}

/** a + b + c with b and/or c left out (factor 0), in the order a box sum adds them. */
function sum3(a: number, b: number, c: number, fb: number, fc: number): number {
  if (fb && fc) return a + b + c;
  if (fb) return a + b;
  if (fc) return a + c;
  return a;
}

/**
 * Edge masking: each cell's weight becomes the larger of its own and EDGE_SPREAD times the
 * largest in its 3×3 neighbourhood (separable maximum, edge-clamped).
 */
function edgeSpread(v: Float64Array, w: number, h: number): Float32Array {
  const tmp = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      const a = v[o + x]!;
      const l = x > 0 ? v[o + x - 1]! : a;
      const r = x < w - 1 ? v[o + x + 1]! : a;
      tmp[o + x] = Math.max(a, l, r);
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const up = y > 0 ? -w : 0;
    const down = y < h - 1 ? w : 0;
    for (let x = 0; x < w; x++) {
      const o = y * w + x;
      out[o] = Math.max(v[o]!, EDGE_SPREAD * Math.max(tmp[o]!, tmp[o + up]!, tmp[o + down]!));
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
  const k = Math.min(
    solveScale(weights, Math.fround(RENDER_ENERGY), targetMse * n, maxAmplitude),
    solveScale(weights, ssimCost, ssimBudget * n, maxAmplitude),
  );
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(maxAmplitude, k * weights[i]!);
  return out;
}

/**
 * The k with Σ cost·min(cap, k·w)² = target (or the largest k when the caps stop it); `cost`
 * is per cell or one value for all (the MSE budget, which needs no array).
 */
function solveScale(
  w: Float32Array,
  cost: Float32Array | number,
  target: number,
  cap: number,
): number {
  const costs = typeof cost === "number" ? null : cost;
  const uniform = typeof cost === "number" ? cost : 0;
  let weighted = 0;
  for (let i = 0; i < w.length; i++) weighted += (costs ? costs[i]! : uniform) * w[i]! * w[i]!;
  let k = Math.sqrt(target / weighted);
  for (let iter = 0; iter < 6; iter++) {
    let total = 0;
    let free = 0;
    for (let i = 0; i < w.length; i++) {
      const c = costs ? costs[i]! : uniform;
      const a = k * w[i]!;
      if (a >= cap) total += c * cap * cap;
      else {
        total += c * a * a;
        free += c * w[i]! * w[i]!;
      }
    }
    if (total >= target * 0.98 || free === 0) break;
    k += (target - total) / (2 * k * free);
  }
  return k;
}
