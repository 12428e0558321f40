/**
 * PDQ perceptual hash (Meta, 2017; https://github.com/facebook/ThreatExchange/tree/main/pdq and
 * the algorithm description in hashing/hashing.pdf there), written from the description:
 *
 *  1. luminance Y = 0.299 R + 0.587 G + 0.114 B (grey images use their sample);
 *  2. Jarosz-filter blur and decimation to 64×64;
 *  3. quality: the count of significant gradients in the 64×64 image, scaled to 0..100;
 *  4. the 16×16 lowest non-DC coefficients of the 2-D DCT-II of the 64×64 image;
 *  5. bit (i, j) is set when coefficient (i, j) exceeds the median of the 256.
 *
 * Text form: 16 rows, row 15 first, each as a 16-bit word (bit j = column j) in 4 hex digits.
 * Arithmetic follows the reference's single-precision floats (see jarosz.ts for why).
 */
import { HallmarkError } from "../../errors/index.js";
import { jaroszDownsample, jaroszWindow } from "./jarosz.js";
import type { PdqResult, RawImage } from "./types.js";

const f = Math.fround;

/** Images narrower or shorter than this get the all-zero hash with quality 0, as in the reference. */
export const PDQ_MIN_DIMENSION = 5;
/** Two box passes in each direction make the tent filter. */
const JAROSZ_PASSES = 2;
const LUMA_R = f(0.299);
const LUMA_G = f(0.587);
const LUMA_B = f(0.114);

/** Rows 1..16 of the 64-point DCT-II basis (row 0, the DC term, is never used). */
const DCT_16x64 = (() => {
  const scale = f(Math.sqrt(2 / 64));
  const m = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      m[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
    }
  }
  return m;
})();

/** Single-precision luminance plane of a raw image. */
function lumaPlane(image: RawImage): Float32Array {
  const { data, width, height, channels } = image;
  const n = width * height;
  const out = new Float32Array(n);
  if (channels <= 2) {
    for (let p = 0, s = 0; p < n; p++, s += channels) out[p] = data[s]!;
    return out;
  }
  for (let p = 0, s = 0; p < n; p++, s += channels) {
    out[p] = f(f(f(LUMA_R * data[s]!) + f(LUMA_G * data[s + 1]!)) + f(LUMA_B * data[s + 2]!));
  }
  return out;
}

/**
 * Quality 0..100: the sum over vertical and horizontal neighbour pairs of the 64×64 image of
 * |difference| as an integer percentage of full scale, divided by 90. Featureless images score
 * low; Meta suggests not matching on hashes below 50.
 */
export function pdqQuality(a64: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      sum += Math.abs(Math.trunc(f(f(f(a64[i * 64 + j]! - a64[(i + 1) * 64 + j]!) * 100) / 255)));
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      sum += Math.abs(Math.trunc(f(f(f(a64[i * 64 + j]! - a64[i * 64 + j + 1]!) * 100) / 255)));
    }
  }
  return Math.min(100, Math.floor(sum / 90));
}

/** B = D·A·Dᵀ: the 16×16 coefficients (vertical frequency i, horizontal j) of the 64×64 A. */
export function dct16(a64: Float32Array): Float32Array {
  const d = DCT_16x64;
  const t = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s = f(s + f(d[i * 64 + k]! * a64[k * 64 + j]!));
      t[i * 64 + j] = s;
    }
  }
  const b = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s = f(s + f(t[i * 64 + k]! * d[j * 64 + k]!));
      b[i * 16 + j] = s;
    }
  }
  return b;
}

/** Thresholds the 256 coefficients at their lower median (the 128th smallest) into hex. */
export function coefficientsToHex(b: Float32Array): string {
  const median = Float32Array.from(b).sort()[127]!;
  let hex = "";
  for (let i = 15; i >= 0; i--) {
    let word = 0;
    for (let j = 0; j < 16; j++) if (b[i * 16 + j]! > median) word |= 1 << j;
    hex += word.toString(16).padStart(4, "0");
  }
  return hex;
}

/**
 * PDQ hash of a raw image at its own resolution. Callers that start from encoded bytes
 * should use `pdqHashEncoded`, which fixes orientation and size first so that every copy of
 * an image is hashed the same way.
 *
 * @throws HallmarkError `invalid_image` when the buffer does not match its dimensions.
 * @example pdqHash({ data, width: 640, height: 480, channels: 3 }) // { hash: "f8f8…", quality: 100 }
 */
export function pdqHash(image: RawImage): PdqResult {
  const { width, height, channels, data } = image;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    ![1, 2, 3, 4].includes(channels) ||
    data.length !== width * height * channels
  ) {
    throw new HallmarkError("invalid_image", "raw image buffer does not match its dimensions");
  }
  if (width < PDQ_MIN_DIMENSION || height < PDQ_MIN_DIMENSION) {
    return { hash: "0".repeat(64), quality: 0 };
  }
  const luma = lumaPlane(image);
  let a64: Float32Array;
  if (width === 64 && height === 64) {
    a64 = luma;
  } else {
    a64 = jaroszDownsample(
      luma,
      height,
      width,
      jaroszWindow(width, 64),
      jaroszWindow(height, 64),
      JAROSZ_PASSES,
      64,
    );
  }
  return { hash: coefficientsToHex(dct16(a64)), quality: pdqQuality(a64) };
}
