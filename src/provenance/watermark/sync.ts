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

/** Shortest period searched, in analysis pixels (a tile of 32 cells at ~0.7 px per cell). */
const MIN_PERIOD = 22;
/** Longest period searched (2.9 analysis px per cell: e.g. a small image's 3-px cells, cropped). */
const MAX_PERIOD = 92;
const MAX_WINDOW = 256;
const CANDIDATE_PEAKS = 24;
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

/** Autocorrelation as z-scores, indexed by lag with (0, 0) at the centre. */
class LagMap {
  readonly w: number;
  readonly h: number;
  readonly maxLag: number;
  private readonly z: Float64Array;

  constructor(ac: Float64Array, w: number, h: number) {
    this.w = w;
    this.h = h;
    this.maxLag = Math.min(w, h) / 2 - 1;
    const centred = new Float64Array(w * h);
    for (let y = 0; y < h; y++) {
      const cy = ((y + h / 2) % h) * w;
      for (let x = 0; x < w; x++) centred[cy + ((x + w / 2) % w)] = ac[y * w + x]!;
    }
    // Subtract the mean over each ring of radius r (the image's own, roughly isotropic,
    // correlation decay), then standardise over the lags where lattice peaks can lie.
    const r = Math.min(2 * MAX_PERIOD, this.maxLag);
    const ringSum = new Float64Array(r + 2);
    const ringCount = new Float64Array(r + 2);
    for (let dy = -r; dy <= r; dy++) {
      const o = (dy + h / 2) * w + w / 2;
      for (let dx = -r; dx <= r; dx++) {
        const ring = Math.round(Math.sqrt(dx * dx + dy * dy));
        if (ring > r) continue;
        ringSum[ring]! += centred[o + dx]!;
        ringCount[ring]! += 1;
      }
    }
    let s = 0;
    let s2 = 0;
    let n = 0;
    for (let dy = -r; dy <= r; dy++) {
      const o = (dy + h / 2) * w + w / 2;
      for (let dx = -r; dx <= r; dx++) {
        const d2 = dx * dx + dy * dy;
        const ring = Math.round(Math.sqrt(d2));
        if (ring > r) continue;
        const v = centred[o + dx]! - ringSum[ring]! / ringCount[ring]!;
        centred[o + dx] = v;
        if (d2 < MIN_PERIOD * MIN_PERIOD) continue;
        s += v;
        s2 += v * v;
        n++;
      }
    }
    const mean = s / n;
    const std = Math.sqrt(Math.max(1e-30, s2 / n - mean * mean));
    for (let i = 0; i < centred.length; i++) centred[i] = (centred[i]! - mean) / std;
    this.z = centred;
  }

  /** z at the integer lag nearest to (x, y); very negative outside the map. */
  at(x: number, y: number): number {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < -this.maxLag || xi > this.maxLag || yi < -this.maxLag || yi > this.maxLag) return -10;
    return this.z[(yi + this.h / 2) * this.w + xi + this.w / 2]!;
  }

  /** Best z within ±1 lag of (x, y), and where. */
  near(x: number, y: number): { x: number; y: number; z: number } {
    const x0 = Math.round(x);
    const y0 = Math.round(y);
    let best = { x: x0, y: y0, z: this.at(x0, y0) };
    for (let ey = -1; ey <= 1; ey++) {
      for (let ex = -1; ex <= 1; ex++) {
        const v = this.at(x0 + ex, y0 + ey);
        if (v > best.z) best = { x: x0 + ex, y: y0 + ey, z: v };
      }
    }
    return best;
  }
}

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

  /** Candidate lattices, best first (at most `limit`), from a central window of the residual. */
  find(res: Float32Array, w: number, h: number, limit: number): Lattice[] {
    const fw = Math.max(64, Math.min(MAX_WINDOW, nextPow2(w)));
    const fh = Math.max(64, Math.min(MAX_WINDOW, nextPow2(h)));
    const x0 = Math.max(0, (w - fw) >> 1);
    const y0 = Math.max(0, (h - fh) >> 1);
    const win = new Float64Array(fw * fh);
    for (let y = 0; y < Math.min(fh, h); y++) {
      for (let x = 0; x < Math.min(fw, w); x++) win[y * fw + x] = res[(y + y0) * w + x + x0]!;
    }
    const lags = new LagMap(this.fft(fw, fh).magnitudeAutocorrelation(win), fw, fh);
    const lattices: Lattice[] = [];
    for (const [px, py] of localMaxima(lags, Math.min(MAX_PERIOD, lags.maxLag - 1))) {
      // A peak may be a diagonal of the true lattice ((1,1) in its basis): also try the
      // square lattice half its size turned by 45°, which has that peak as a diagonal.
      for (const [qx, qy] of [
        [px, py],
        [(px + py) / 2, (py - px) / 2],
      ] as const) {
        if (Math.hypot(qx, qy) < MIN_PERIOD) continue;
        const v1 = canonical(qx, qy);
        if (lattices.some((l) => Math.hypot(l.v1[0] - v1[0], l.v1[1] - v1[1]) < 2.5)) continue;
        const v2: [number, number] = [-v1[1], v1[0]];
        lattices.push({ v1, v2, score: latticeScore(lags, v1, v2) });
      }
    }
    lattices.sort((a, b) => b.score - a.score);
    // A lattice whose basis vectors are points of a better one is the same grid seen
    // through a coarser basis (e.g. the diagonals): trying it again would only cost time.
    const kept: Lattice[] = [];
    for (const l of lattices) {
      if (kept.some((k) => onLattice(k, l.v1) && onLattice(k, l.v2))) continue;
      kept.push(l);
      if (kept.length === limit) break;
    }
    return kept.map((l) => refine(lags, l));
  }
}

/** Whether p is within 1.5 lags of a point of the lattice. */
function onLattice(l: Lattice, p: [number, number]): boolean {
  const [a, c] = l.v1;
  const [b, d] = l.v2;
  const det = a * d - b * c;
  const u = Math.round((d * p[0] - b * p[1]) / det);
  const v = Math.round((-c * p[0] + a * p[1]) / det);
  return Math.hypot(u * a + v * b - p[0], u * c + v * d - p[1]) < 1.5;
}

function localMaxima(lags: LagMap, maxR: number): Array<[number, number]> {
  const found: Array<[number, number, number]> = [];
  let floor = Number.NEGATIVE_INFINITY;
  for (let dy = 0; dy <= maxR; dy++) {
    for (let dx = -maxR; dx <= maxR; dx++) {
      const d2 = dx * dx + dy * dy;
      if (d2 < MIN_PERIOD * MIN_PERIOD || d2 > maxR * maxR || (dy === 0 && dx < 0)) continue;
      const v = lags.at(dx, dy);
      if (v <= floor) continue;
      let isMax = true;
      for (let ey = -1; ey <= 1 && isMax; ey++) {
        for (let ex = -1; ex <= 1; ex++) {
          if ((ex || ey) && lags.at(dx + ex, dy + ey) > v) {
            isMax = false;
            break;
          }
        }
      }
      if (!isMax) continue;
      found.push([v, dx, dy]);
      if (found.length > 4 * CANDIDATE_PEAKS) {
        found.sort((a, b) => b[0] - a[0]);
        found.length = CANDIDATE_PEAKS;
        floor = found[CANDIDATE_PEAKS - 1]![0];
      }
    }
  }
  found.sort((a, b) => b[0] - a[0]);
  return found.slice(0, CANDIDATE_PEAKS).map(([, x, y]) => [x, y]);
}

/** The lattice vector turned by quarter turns into the sector -45°..45°. */
function canonical(x: number, y: number): [number, number] {
  for (let i = 0; i < 4; i++) {
    if (x > 0 && Math.abs(y) <= x) return [x, y];
    [x, y] = [-y, x];
  }
  return [x, y];
}

function latticeScore(lags: LagMap, v1: number[], v2: number[]): number {
  let sum = 0;
  let n = 0;
  for (const [a, b] of SHELL) {
    const x = a * v1[0]! + b * v2[0]!;
    const y = a * v1[1]! + b * v2[1]!;
    if (Math.abs(x) > lags.maxLag - 1 || Math.abs(y) > lags.maxLag - 1) continue;
    sum += lags.near(x, y).z;
    n++;
  }
  return n ? sum / Math.sqrt(n) : 0;
}

/** Least-squares fit of the basis to the sub-pixel positions of many lattice peaks. */
function refine(lags: LagMap, lattice: Lattice): Lattice {
  let { v1, v2 } = lattice;
  const limit = lags.maxLag - 2;
  for (let iter = 0; iter < 2; iter++) {
    // x and y components separately: [Saa Sab; Sab Sbb]·[v1c; v2c] = [Σ a·q; Σ b·q].
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
        if (Math.abs(px) > limit || Math.abs(py) > limit) continue;
        const peak = subPixelPeak(lags, px, py);
        if (peak.z <= 1) continue;
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

/** The peak near (x, y) located to a fraction of a lag by parabolic interpolation. */
function subPixelPeak(lags: LagMap, x: number, y: number): { x: number; y: number; z: number } {
  const p = lags.near(x, y);
  const l = lags.at(p.x - 1, p.y);
  const r = lags.at(p.x + 1, p.y);
  const u = lags.at(p.x, p.y - 1);
  const d = lags.at(p.x, p.y + 1);
  const dxDen = l - 2 * p.z + r;
  const dyDen = u - 2 * p.z + d;
  const ox = dxDen < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (l - r)) / dxDen)) : 0;
  const oy = dyDen < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (u - d)) / dyDen)) : 0;
  return { x: p.x + ox, y: p.y + oy, z: p.z };
}
