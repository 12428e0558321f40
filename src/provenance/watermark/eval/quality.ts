import type { RawImage } from "../types.js";

/** PSNR in dB over the colour channels (alpha ignored). */
export function psnr(a: RawImage, b: RawImage): number {
  const colour = a.channels >= 3 ? 3 : 1;
  let sum = 0;
  for (let p = 0, i = 0; i < a.width * a.height; i++, p += a.channels) {
    for (let c = 0; c < colour; c++) {
      const d = a.data[p + c]! - b.data[p + c]!;
      sum += d * d;
    }
  }
  const mse = sum / (a.width * a.height * colour);
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
}

function luma(img: RawImage): Float32Array {
  const out = new Float32Array(img.width * img.height);
  for (let i = 0, p = 0; i < out.length; i++, p += img.channels) {
    out[i] =
      img.channels >= 3
        ? 0.299 * img.data[p]! + 0.587 * img.data[p + 1]! + 0.114 * img.data[p + 2]!
        : img.data[p]!;
  }
  return out;
}

/** Separable Gaussian blur, edge-clamped. */
function blur(src: Float32Array, w: number, h: number, kernel: Float32Array): Float32Array {
  const r = (kernel.length - 1) / 2;
  const tmp = new Float32Array(w * h);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++)
        s += kernel[k + r]! * src[y * w + Math.min(w - 1, Math.max(0, x + k))]!;
      tmp[y * w + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -r; k <= r; k++)
        s += kernel[k + r]! * tmp[Math.min(h - 1, Math.max(0, y + k)) * w + x]!;
      out[y * w + x] = s;
    }
  }
  return out;
}

/**
 * Mean SSIM on luma (Wang, Bovik, Sheikh & Simoncelli, IEEE TIP 13(4), 2004): 11-tap
 * Gaussian window with σ = 1.5, K1 = 0.01, K2 = 0.03, L = 255.
 */
export function ssim(a: RawImage, b: RawImage): number {
  const w = a.width;
  const h = a.height;
  const kernel = new Float32Array(11);
  let ks = 0;
  for (let i = 0; i < 11; i++) ks += kernel[i] = Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5));
  for (let i = 0; i < 11; i++) kernel[i]! /= ks;
  const x = luma(a);
  const y = luma(b);
  const xx = new Float32Array(w * h);
  const yy = new Float32Array(w * h);
  const xy = new Float32Array(w * h);
  for (let i = 0; i < x.length; i++) {
    xx[i] = x[i]! * x[i]!;
    yy[i] = y[i]! * y[i]!;
    xy[i] = x[i]! * y[i]!;
  }
  const mx = blur(x, w, h, kernel);
  const my = blur(y, w, h, kernel);
  const sxx = blur(xx, w, h, kernel);
  const syy = blur(yy, w, h, kernel);
  const sxy = blur(xy, w, h, kernel);
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    const vx = sxx[i]! - mx[i]! * mx[i]!;
    const vy = syy[i]! - my[i]! * my[i]!;
    const cov = sxy[i]! - mx[i]! * my[i]!;
    total +=
      ((2 * mx[i]! * my[i]! + c1) * (2 * cov + c2)) /
      ((mx[i]! * mx[i]! + my[i]! * my[i]! + c1) * (vx + vy + c2));
  }
  return total / x.length;
}
