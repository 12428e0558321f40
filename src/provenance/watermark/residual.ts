/**
 * The detector's estimate of the mark: the analysis-grid luma minus its 3×3 local mean (a
 * high-pass that removes most of the image, whose energy sits at low frequencies), divided
 * by the local residual magnitude. The division undoes the perceptual masking (the mark is
 * strong where texture is strong) and tames edges, so every cell votes with similar weight.
 */
const NORM_EPS = 1;
const CLIP = 3;

function boxMean(src: Float32Array, w: number, h: number, radius: number): Float32Array {
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      let n = 0;
      const x0 = Math.max(0, x - radius);
      const x1 = Math.min(w - 1, x + radius);
      for (let k = x0; k <= x1; k++, n++) s += src[o + k]!;
      tmp[o + x] = s / n;
    }
  }
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - radius);
    const y1 = Math.min(h - 1, y + radius);
    const n = y1 - y0 + 1;
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = y0; k <= y1; k++) s += tmp[k * w + x]!;
      out[y * w + x] = s / n;
    }
  }
  return out;
}

export function markResidual(luma: Float32Array, w: number, h: number): Float32Array {
  const mean = boxMean(luma, w, h, 1);
  const r = new Float32Array(w * h);
  const mag = new Float32Array(w * h);
  for (let i = 0; i < r.length; i++) {
    r[i] = luma[i]! - mean[i]!;
    mag[i] = Math.abs(r[i]!);
  }
  const scale = boxMean(mag, w, h, 2);
  for (let i = 0; i < r.length; i++) {
    const v = r[i]! / (scale[i]! + NORM_EPS);
    r[i] = v > CLIP ? CLIP : v < -CLIP ? -CLIP : v;
  }
  return r;
}
