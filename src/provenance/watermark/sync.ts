import { Fft2d, nextPow2 } from "./fft2d.js";

/**
 * Synchronisation: the tile repeats, so the autocorrelation of the mark residual has a
 * lattice of peaks whose basis vectors are the tile's period vectors in the image, rotated
 * and scaled exactly as the image was (Kutter 1999; Alattar & Meyer, ISCAS 2003). Weak
 * single peaks are pooled by scoring whole lattices, then the basis is refined by least
 * squares over many peaks for sub-pixel accuracy across the image.
 */

export interface Lattice {
  /** Period vectors in analysis-grid pixels (columns of the lattice basis). */
  v1: [number, number];
  v2: [number, number];
  /** Pooled z-score of the lattice's autocorrelation peaks. */
  score: number;
}

/** Shortest period searched, in analysis pixels (a tile of 32 cells at ~0.6 px per cell). */
const MIN_PERIOD = 18;
/** Longest period searched (a tile at ~2.4 px per cell: a crop to 1/6 of the area, enlarged). */
const MAX_PERIOD = 78;
const MAX_WINDOW = 256;
const SHELL: ReadonlyArray<readonly [number, number]> = [
  [1, 0],
  [0, 1],
  [1, 1],
  [1, -1],
  [2, 0],
  [0, 2],
  [2, 1],
  [1, 2],
  [2, -1],
  [1, -2],
];

export class AutocorrelationSync {
  private readonly ffts = new Map<string, Fft2d>();

  private fft(w: number, h: number): Fft2d {
    const id = `${w}x${h}`;
    let f = this.ffts.get(id);
    if (!f) {
      f = new Fft2d(w, h);
      this.ffts.set(id, f);
    }
    return f;
  }

  /** Candidate lattices, best first (at most `limit`). */
  find(res: Float32Array, w: number, h: number, limit: number): Lattice[] {
    const fw = Math.min(MAX_WINDOW, nextPow2(w));
    const fh = Math.min(MAX_WINDOW, nextPow2(h));
    const ac = autocorrelation(res, w, h, this.fft(fw, fh));
    const stats = annulusStats(ac, fw, fh);
    const z = (x: number, y: number): number => (acAt(ac, fw, fh, x, y) - stats.mean) / stats.std;
    const maxR = Math.min(MAX_PERIOD, Math.floor(Math.min(fw, fh) / 2) - 2);
    const peaks = localMaxima(ac, fw, fh, MIN_PERIOD, maxR, 24);
    const lattices: Lattice[] = [];
    for (const [px, py] of peaks) {
      const v1 = canonical(px, py);
      if (lattices.some((l) => Math.hypot(l.v1[0] - v1[0], l.v1[1] - v1[1]) < 2.5)) continue;
      const v2: [number, number] = [-v1[1], v1[0]];
      lattices.push({ v1, v2, score: latticeScore(z, fw, fh, v1, v2) });
    }
    lattices.sort((a, b) => b.score - a.score);
    return lattices.slice(0, limit).map((l) => refine(z, fw, fh, l));
  }
}

function autocorrelation(res: Float32Array, w: number, h: number, fft: Fft2d): Float64Array {
  const fw = fft.width;
  const fh = fft.height;
  const x0 = Math.max(0, (w - fw) >> 1);
  const y0 = Math.max(0, (h - fh) >> 1);
  const win = new Float64Array(fw * fh);
  for (let y = 0; y < Math.min(fh, h); y++) {
    for (let x = 0; x < Math.min(fw, w); x++) win[y * fw + x] = res[(y + y0) * w + x + x0]!;
  }
  const spec = new Float64Array(2 * fw * fh);
  fft.forwardReal(win, spec);
  for (let k = 0; k < fw * fh; k++) {
    const re = spec[2 * k]!;
    const im = spec[2 * k + 1]!;
    // Magnitude, not power: flattens the spectrum so the mark's many weak lines count.
    spec[2 * k] = Math.sqrt(re * re + im * im);
    spec[2 * k + 1] = 0;
  }
  spec[0] = 0;
  fft.inverse(spec);
  const ac = new Float64Array(fw * fh);
  for (let k = 0; k < fw * fh; k++) ac[k] = spec[2 * k]!;
  return ac;
}

function acAt(ac: Float64Array, fw: number, fh: number, x: number, y: number): number {
  const xi = ((Math.round(x) % fw) + fw) % fw;
  const yi = ((Math.round(y) % fh) + fh) % fh;
  return ac[yi * fw + xi]!;
}

function annulusStats(ac: Float64Array, fw: number, fh: number): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  let n = 0;
  const maxR = Math.min(MAX_PERIOD * 2, Math.min(fw, fh) / 2);
  for (let dy = -maxR; dy <= maxR; dy++) {
    for (let dx = -maxR; dx <= maxR; dx++) {
      const r = Math.hypot(dx, dy);
      if (r < MIN_PERIOD || r > maxR) continue;
      const v = acAt(ac, fw, fh, dx, dy);
      s += v;
      s2 += v * v;
      n++;
    }
  }
  const mean = s / n;
  return { mean, std: Math.sqrt(Math.max(1e-30, s2 / n - mean * mean)) };
}

function localMaxima(
  ac: Float64Array,
  fw: number,
  fh: number,
  minR: number,
  maxR: number,
  count: number,
): Array<[number, number]> {
  const found: Array<[number, number, number]> = [];
  for (let dy = 0; dy <= maxR; dy++) {
    for (let dx = -maxR; dx <= maxR; dx++) {
      const r = Math.hypot(dx, dy);
      if (r < minR || r > maxR || (dy === 0 && dx < 0)) continue;
      const v = acAt(ac, fw, fh, dx, dy);
      let isMax = true;
      for (let ey = -1; ey <= 1 && isMax; ey++) {
        for (let ex = -1; ex <= 1; ex++) {
          if ((ex || ey) && acAt(ac, fw, fh, dx + ex, dy + ey) > v) {
            isMax = false;
            break;
          }
        }
      }
      if (isMax) found.push([v, dx, dy]);
    }
  }
  found.sort((a, b) => b[0] - a[0]);
  return found.slice(0, count).map(([, x, y]) => [x, y]);
}

/** The lattice vector turned by quarter turns into the sector -45°..45°. */
function canonical(x: number, y: number): [number, number] {
  for (let i = 0; i < 4; i++) {
    if (x > 0 && Math.abs(y) <= x) return [x, y];
    [x, y] = [-y, x];
  }
  return [x, y];
}

type ZFn = (x: number, y: number) => number;

/** Best z within ±1 pixel of a lattice point (tolerates a slightly wrong basis). */
function zNear(z: ZFn, x: number, y: number): number {
  let best = Number.NEGATIVE_INFINITY;
  for (let ey = -1; ey <= 1; ey++)
    for (let ex = -1; ex <= 1; ex++) best = Math.max(best, z(x + ex, y + ey));
  return best;
}

function latticeScore(z: ZFn, fw: number, fh: number, v1: number[], v2: number[]): number {
  const limit = Math.min(fw, fh) / 2 - 2;
  let sum = 0;
  let n = 0;
  for (const [a, b] of SHELL) {
    const x = a * v1[0]! + b * v2[0]!;
    const y = a * v1[1]! + b * v2[1]!;
    if (Math.hypot(x, y) > limit) continue;
    sum += zNear(z, x, y);
    n++;
  }
  return n ? sum / Math.sqrt(n) : 0;
}

/** Least-squares fit of the basis to the sub-pixel positions of many lattice peaks. */
function refine(z: ZFn, fw: number, fh: number, lattice: Lattice): Lattice {
  let { v1, v2 } = lattice;
  const limit = Math.min(fw, fh) / 2 - 2;
  for (let iter = 0; iter < 2; iter++) {
    // Normal equations for x and y components separately: [Saa Sab; Sab Sbb] [v1c; v2c] = [Sa q; Sb q].
    let saa = 0;
    let sab = 0;
    let sbb = 0;
    let rx0 = 0;
    let rx1 = 0;
    let ry0 = 0;
    let ry1 = 0;
    for (let a = 0; a <= 4; a++) {
      for (let b = -4; b <= 4; b++) {
        if (a === 0 && b <= 0) continue;
        const px = a * v1[0] + b * v2[0];
        const py = a * v1[1] + b * v2[1];
        if (Math.hypot(px, py) > limit) continue;
        const peak = subPixelPeak(z, px, py);
        if (!peak || peak.z <= 1) continue;
        const wgt = peak.z - 1;
        saa += wgt * a * a;
        sab += wgt * a * b;
        sbb += wgt * b * b;
        rx0 += wgt * a * peak.x;
        rx1 += wgt * b * peak.x;
        ry0 += wgt * a * peak.y;
        ry1 += wgt * b * peak.y;
      }
    }
    const det = saa * sbb - sab * sab;
    if (det < 1e-9) break;
    v1 = [(sbb * rx0 - sab * rx1) / det, (sbb * ry0 - sab * ry1) / det];
    v2 = [(saa * rx1 - sab * rx0) / det, (saa * ry1 - sab * ry0) / det];
  }
  return { v1, v2, score: lattice.score };
}

function subPixelPeak(z: ZFn, x: number, y: number): { x: number; y: number; z: number } | null {
  let bx = Math.round(x);
  let by = Math.round(y);
  let best = z(bx, by);
  for (let ey = -1; ey <= 1; ey++) {
    for (let ex = -1; ex <= 1; ex++) {
      const v = z(Math.round(x) + ex, Math.round(y) + ey);
      if (v > best) {
        best = v;
        bx = Math.round(x) + ex;
        by = Math.round(y) + ey;
      }
    }
  }
  const l = z(bx - 1, by);
  const r = z(bx + 1, by);
  const u = z(bx, by - 1);
  const d = z(bx, by + 1);
  const dxDen = l - 2 * best + r;
  const dyDen = u - 2 * best + d;
  const ox = dxDen < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (l - r)) / dxDen)) : 0;
  const oy = dyDen < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (u - d)) / dyDen)) : 0;
  return { x: bx + ox, y: by + oy, z: best };
}
