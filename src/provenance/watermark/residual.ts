/**
 * The detector's estimate of the mark: the analysis-grid luma minus its 3×3 local mean (a
 * high-pass that removes most of the image, whose energy sits at low frequencies), divided
 * by the local residual magnitude (5×5 mean). The division undoes the perceptual masking (the
 * mark is strong where texture is strong) and tames edges, so every cell votes with similar
 * weight.
 */
const NORM_EPS = 1;
const CLIP = 1.5;

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
      let t: number;
      if (p1 > p2) {
        t = p1;
        p1 = p2;
        p2 = t;
      }
      if (p4 > p5) {
        t = p4;
        p4 = p5;
        p5 = t;
      }
      if (p7 > p8) {
        t = p7;
        p7 = p8;
        p8 = t;
      }
      if (p0 > p1) {
        t = p0;
        p0 = p1;
        p1 = t;
      }
      if (p3 > p4) {
        t = p3;
        p3 = p4;
        p4 = t;
      }
      if (p6 > p7) {
        t = p6;
        p6 = p7;
        p7 = t;
      }
      if (p1 > p2) {
        t = p1;
        p1 = p2;
        p2 = t;
      }
      if (p4 > p5) {
        t = p4;
        p4 = p5;
        p5 = t;
      }
      if (p7 > p8) {
        t = p7;
        p7 = p8;
        p8 = t;
      }
      if (p0 > p3) {
        p3 = p0;
      }
      if (p5 > p8) {
        p5 = p8;
      }
      if (p4 > p7) {
        t = p4;
        p4 = p7;
        p7 = t;
      }
      if (p3 > p6) {
        p6 = p3;
      }
      if (p1 > p4) {
        p4 = p1;
      }
      if (p2 > p5) {
        p2 = p5;
      }
      if (p4 > p7) {
        p4 = p7;
      }
      if (p4 > p2) {
        t = p4;
        p4 = p2;
        p2 = t;
      }
      if (p6 > p4) {
        p4 = p6;
      }
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
  const scale = boxMean(mag, w, h, 2);
  for (let i = 0; i < r.length; i++) {
    const v = r[i]! / (scale[i]! + NORM_EPS);
    r[i] = Math.max(-CLIP, Math.min(CLIP, v));
  }
  return r;
}
