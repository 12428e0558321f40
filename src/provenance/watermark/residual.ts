/**
 * The detector's estimate of the mark: the analysis-grid luma minus its 3×3 median (a
 * high-pass that keeps step edges and removes most of the image, whose energy sits at low
 * frequencies), divided by the local residual magnitude (5×5 mean). The division undoes the
 * perceptual masking (the mark is strong where texture is strong) and tames edges, so every
 * cell votes with similar weight.
 *
 * Two refinements make flat illustrations readable, whose mark lies only along outlines:
 * - Lines thinner than the median's reach (outlines of 1–2 analysis pixels) leave residuals
 *   of a hundred grey levels or more right where the mark is. Where the 5×5 mean of the
 *   residual magnitude exceeds `LINE_RATIO` times the 5×5 mean of its 3×3 *median* (which
 *   ignores such thin lines), the latter is the local scale: a plain mean let one outline
 *   shrink its neighbours' mark tenfold. Dense texture (foliage), where the two agree, keeps
 *   the plain mean, which reads it better after shrinking and JPEG. A cell more than
 *   `OUTLIER` local scales out is image structure, not mark: it gets no vote (a redescending
 *   weight) instead of a clipped one. Both are gain-invariant (brightness, contrast).
 * - Cells far from any structure carry no mark (the embedder leaves flat areas untouched), so
 *   whatever they hold after an attack (noise, compression artefacts) is pure interference.
 *   Each cell's vote is weighted by the strongest smoothed gradient within two cells, ramping
 *   from 0 at `FLAT_GRADIENT` to 1 at `FLAT_GRADIENT + GRADIENT_RAMP` grey levels: the
 *   embedder's masking recomputed from the received image, robust to noise because the
 *   gradient is taken on a 3×3 box mean.
 */
const NORM_EPS = 1;
const CLIP = 1.5;
/**
 * A cell this many local scales out gets no vote. Lower values help flat illustrations a
 * little more but cost dense hard-edged texture (foliage) after rotations (measured: 4, 6, 8).
 */
const OUTLIER = 8;
/** Plain-mean scale over median-based scale above which a thin line is taken to be near. */
const LINE_RATIO = 2;
/** Gradient (grey levels over two cells, |dx| + |dy|) below which a neighbourhood is flat. */
const FLAT_GRADIENT = 3;
const GRADIENT_RAMP = 6;

/** Box mean with edge clamping, separable running sums: O(1) per pixel whatever the radius. */
function boxMean(src: Float32Array, w: number, h: number, radius: number): Float32Array {
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  const n = 2 * radius + 1;
  for (let y = 0; y < h; y++) {
    const o = y * w;
    let s = 0;
    for (let k = -radius; k <= radius; k++) s += src[o + Math.min(w - 1, Math.max(0, k))]!;
    for (let x = 0; x < w; x++) {
      tmp[o + x] = s / n;
      s += src[o + Math.min(w - 1, x + radius + 1)]! - src[o + Math.max(0, x - radius)]!;
    }
  }
  for (let x = 0; x < w; x++) {
    let s = 0;
    for (let k = -radius; k <= radius; k++) s += tmp[Math.min(h - 1, Math.max(0, k)) * w + x]!;
    for (let y = 0; y < h; y++) {
      out[y * w + x] = s / n;
      s += tmp[Math.min(h - 1, y + radius + 1) * w + x]! - tmp[Math.max(0, y - radius) * w + x]!;
    }
  }
  return out;
}

/**
 * 3×3 median (edge-clamped) by the classic 19-exchange selection network. A median keeps
 * step edges where a mean smears them, so flat-filled illustrations, whose mark lies along
 * their edges, leave a clean residual.
 */
function median3(src: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const up = Math.max(0, y - 1) * w;
    const mid = y * w;
    const down = Math.min(h - 1, y + 1) * w;
    for (let x = 0; x < w; x++) {
      const l = Math.max(0, x - 1);
      const r = Math.min(w - 1, x + 1);
      let p0 = src[up + l]!;
      let p1 = src[up + x]!;
      let p2 = src[up + r]!;
      let p3 = src[mid + l]!;
      let p4 = src[mid + x]!;
      let p5 = src[mid + r]!;
      let p6 = src[down + l]!;
      let p7 = src[down + x]!;
      let p8 = src[down + r]!;
      // Each exchange as min/max, which compile to branch-free instructions: the comparisons
      // of a median network are unpredictable, and branches on them cost more than the work.
      let t = Math.min(p1, p2);
      p2 = Math.max(p1, p2);
      p1 = t;
      t = Math.min(p4, p5);
      p5 = Math.max(p4, p5);
      p4 = t;
      t = Math.min(p7, p8);
      p8 = Math.max(p7, p8);
      p7 = t;
      t = Math.min(p0, p1);
      p1 = Math.max(p0, p1);
      p0 = t;
      t = Math.min(p3, p4);
      p4 = Math.max(p3, p4);
      p3 = t;
      t = Math.min(p6, p7);
      p7 = Math.max(p6, p7);
      p6 = t;
      t = Math.min(p1, p2);
      p2 = Math.max(p1, p2);
      p1 = t;
      t = Math.min(p4, p5);
      p5 = Math.max(p4, p5);
      p4 = t;
      t = Math.min(p7, p8);
      p8 = Math.max(p7, p8);
      p7 = t;
      p3 = Math.max(p0, p3);
      p5 = Math.min(p5, p8);
      t = Math.min(p4, p7);
      p7 = Math.max(p4, p7);
      p4 = t;
      p6 = Math.max(p3, p6);
      p4 = Math.max(p1, p4);
      p2 = Math.min(p2, p5);
      p4 = Math.min(p4, p7);
      t = Math.min(p4, p2);
      p2 = Math.max(p4, p2);
      p4 = t;
      p4 = Math.max(p4, p6);
      out[mid + x] = Math.min(p4, p2);
    }
  }
  return out;
}

export function markResidual(luma: Float32Array, w: number, h: number): Float32Array {
  const mean = median3(luma, w, h);
  const r = new Float32Array(w * h);
  const mag = new Float32Array(w * h);
  for (let i = 0; i < r.length; i++) {
    const v = luma[i]! - mean[i]!;
    r[i] = v;
    mag[i] = Math.abs(v);
  }
  // Dense texture keeps the plain mean; only where a thin line inflates it past LINE_RATIO
  // times the median-based scale does the median-based one take over.
  const scale = boxMean(median3(mag, w, h), w, h, 2);
  const plain = boxMean(mag, w, h, 2);
  for (let i = 0; i < scale.length; i++)
    if (plain[i]! <= LINE_RATIO * scale[i]!) scale[i] = plain[i]!;
  const structure = max5(gradient(boxMean(luma, w, h, 1), w, h), w, h);
  for (let i = 0; i < r.length; i++) {
    const v = r[i]! / (scale[i]! + NORM_EPS);
    const weight = Math.min(1, Math.max(0, (structure[i]! - FLAT_GRADIENT) / GRADIENT_RAMP));
    r[i] = Math.abs(v) > OUTLIER ? 0 : weight * Math.max(-CLIP, Math.min(CLIP, v));
  }
  return r;
}

/** |dx| + |dy| by central differences over two cells (edge-clamped). */
function gradient(src: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const up = Math.max(0, y - 1) * w;
    const down = Math.min(h - 1, y + 1) * w;
    const o = y * w;
    for (let x = 0; x < w; x++) {
      const dx = src[o + Math.min(w - 1, x + 1)]! - src[o + Math.max(0, x - 1)]!;
      out[o + x] = Math.abs(dx) + Math.abs(src[down + x]! - src[up + x]!);
    }
  }
  return out;
}

/** 5×5 neighbourhood maximum (edge-clamped), separable: a 3-wide maximum applied twice. */
function max5(src: Float32Array, w: number, h: number): Float32Array {
  return max3Vertical(max3Vertical(max3Horizontal(max3Horizontal(src, w, h), w, h), w, h), w, h);
}

function max3Horizontal(src: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      const a = src[o + x]!;
      const l = x > 0 ? src[o + x - 1]! : a;
      const r = x < w - 1 ? src[o + x + 1]! : a;
      out[o + x] = Math.max(Math.max(a, l), r);
    }
  }
  return out;
}

function max3Vertical(src: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    const up = y > 0 ? o - w : o;
    const down = y < h - 1 ? o + w : o;
    for (let x = 0; x < w; x++) {
      const a = src[o + x]!;
      const u = src[up + x]!;
      const d = src[down + x]!;
      out[o + x] = Math.max(Math.max(a, u), d);
    }
  }
  return out;
}
