import { Fft2d } from "./fft2d.js";
import type { Lattice } from "./sync.js";
import { TILE, TILE_CELLS, type TileLayout } from "./tile.js";

/**
 * Folding: every analysis pixel is mapped through the found lattice into tile coordinates
 * and summed there, so all repetitions of the tile (wherever a crop cut them) add up into one
 * tile-sized accumulator. The tile's position in it is still unknown, and so is which of the
 * eight quarter-turn/mirror orientations the lattice basis picked: both are found by cyclic
 * correlation with the keyed pilot cells, one FFT per orientation.
 */

/** Bins per cell along each axis: half-cell resolution for the translation search. */
const BINS = 2;
const SIDE = TILE * BINS;
export const ORIENTATIONS = 8;

/** Orientation d as a map on cell coordinates: optional swap, then optional mirrors. */
export function orientCell(d: number, u: number, v: number): [number, number] {
  if (d & 4) [u, v] = [v, u];
  if (d & 1) u = TILE - 1 - u;
  if (d & 2) v = TILE - 1 - v;
  return [u, v];
}

/** The 2×2 linear part of orientation d (cell axes to folded axes). */
export function orientMatrix(d: number): [number, number, number, number] {
  let m: [number, number, number, number] = d & 4 ? [0, 1, 1, 0] : [1, 0, 0, 1];
  if (d & 1) m = [-m[0], -m[1], m[2], m[3]];
  if (d & 2) m = [m[0], m[1], -m[2], -m[3]];
  return m;
}

export class PilotCorrelator {
  private readonly fft = new Fft2d(SIDE, SIDE);
  /** Conjugate spectra of the pilot pattern in each orientation. */
  private readonly templates: Float64Array[] = [];

  constructor(layout: TileLayout) {
    for (let d = 0; d < ORIENTATIONS; d++) {
      const t = new Float64Array(2 * SIDE * SIDE);
      for (let v = 0; v < TILE; v++) {
        for (let u = 0; u < TILE; u++) {
          const value = layout.pilot[v * TILE + u]!;
          if (!value) continue;
          const [fu, fv] = orientCell(d, u, v);
          for (let by = 0; by < BINS; by++) {
            for (let bx = 0; bx < BINS; bx++)
              t[2 * ((fv * BINS + by) * SIDE + fu * BINS + bx)] = value;
          }
        }
      }
      this.fft.forward(t);
      for (let k = 1; k < t.length; k += 2) t[k] = -t[k]!;
      this.templates.push(t);
    }
  }

  /**
   * Correlation surfaces of the folded tile with the pilot in every orientation, as z-scores
   * over all orientations and shifts (index d·SIDE² + shiftY·SIDE + shiftX).
   */
  correlate(folded: Float64Array): Float64Array {
    const spec = new Float64Array(2 * SIDE * SIDE);
    for (let k = 0; k < SIDE * SIDE; k++) spec[2 * k] = folded[k]!;
    this.fft.forward(spec);
    const n = SIDE * SIDE;
    const out = new Float64Array(ORIENTATIONS * n);
    const prod = new Float64Array(2 * n);
    // Both correlations are real, so two share one inverse FFT: S·T̄₁ + i·S·T̄₂.
    for (let d = 0; d < ORIENTATIONS; d += 2) {
      const t1 = this.templates[d]!;
      const t2 = this.templates[d + 1]!;
      for (let k = 0; k < 2 * n; k += 2) {
        const a = spec[k]!;
        const b = spec[k + 1]!;
        const re1 = a * t1[k]! - b * t1[k + 1]!;
        const im1 = a * t1[k + 1]! + b * t1[k]!;
        const re2 = a * t2[k]! - b * t2[k + 1]!;
        const im2 = a * t2[k + 1]! + b * t2[k]!;
        prod[k] = re1 - im2;
        prod[k + 1] = im1 + re2;
      }
      this.fft.inverse(prod);
      for (let k = 0; k < n; k++) {
        out[d * n + k] = prod[2 * k]!;
        out[(d + 1) * n + k] = prod[2 * k + 1]!;
      }
    }
    let s = 0;
    let s2 = 0;
    for (const v of out) {
      s += v;
      s2 += v * v;
    }
    const mean = s / out.length;
    const std = Math.sqrt(Math.max(1e-30, s2 / out.length - mean * mean));
    for (let k = 0; k < out.length; k++) out[k] = (out[k]! - mean) / std;
    return out;
  }
}

export const FOLD_SIDE = SIDE;

/**
 * Sums the residual into SIDE×SIDE half-cell bins through the inverse lattice. Pixel (x, y)
 * lands at tile coordinates T·V⁻¹·(x, y), taken modulo the tile.
 */
export function foldResidual(
  res: Float32Array,
  w: number,
  h: number,
  lattice: Lattice,
): Float64Array {
  const [a, c] = lattice.v1;
  const [b, d] = lattice.v2;
  const det = a * d - b * c;
  // Inverse basis scaled to bins: bins per pixel step along x and along y.
  const s = SIDE / det;
  const ux = d * s;
  const uy = -b * s;
  const vx = -c * s;
  const vy = a * s;
  const folded = new Float64Array(SIDE * SIDE);
  const wrap = SIDE * 1024;
  for (let y = 0; y < h; y++) {
    let u = (y + 0.5) * uy + 0.5 * ux + wrap;
    let v = (y + 0.5) * vy + 0.5 * vx + wrap;
    const o = y * w;
    for (let x = 0; x < w; x++, u += ux, v += vx) {
      const bu = Math.floor(u) % SIDE;
      const bv = Math.floor(v) % SIDE;
      folded[bv * SIDE + bu]! += res[o + x]!;
    }
  }
  return folded;
}

/**
 * Soft code-bit values read from the folded tile for orientation d and shift (sx, sy) in
 * bins: each cell's bins summed, times its keyed sign, summed over the cells of each bit.
 */
export function demodulate(
  folded: Float64Array,
  layout: TileLayout,
  d: number,
  sx: number,
  sy: number,
  codedBits: number,
): Float64Array {
  const soft = new Float64Array(codedBits);
  for (let cell = 0; cell < TILE_CELLS; cell++) {
    const bit = layout.bitOf[cell]!;
    if (bit < 0) continue;
    const [fu, fv] = orientCell(d, cell % TILE, Math.floor(cell / TILE));
    let value = 0;
    for (let by = 0; by < BINS; by++) {
      const row = ((fv * BINS + by + sy) % SIDE) * SIDE;
      for (let bx = 0; bx < BINS; bx++) value += folded[row + ((fu * BINS + bx + sx) % SIDE)]!;
    }
    soft[bit]! += layout.sign[cell]! * value;
  }
  return soft;
}
