import { HallmarkError } from "../../errors/index.js";

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** True when `hex` is a PDQ hash in text form (64 hex digits). */
export function isPdqHex(hex: string): boolean {
  return HEX64.test(hex);
}

/**
 * The hash as eight 32-bit words (order is irrelevant to distances, only consistency).
 * @throws HallmarkError `invalid_request_error` for anything but 64 hex digits.
 */
export function pdqWords(hex: string): Uint32Array {
  if (!isPdqHex(hex)) {
    throw new HallmarkError("invalid_request_error", "a PDQ hash is 64 hexadecimal digits", {
      details: { hash: hex.slice(0, 80) },
    });
  }
  const w = new Uint32Array(8);
  for (let k = 0; k < 8; k++) w[k] = Number.parseInt(hex.slice(k * 8, k * 8 + 8), 16);
  return w;
}

/** Set bits in a 32-bit word (SWAR popcount). */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Hamming distance between word forms, 0..256; `b` may be a row of a packed table. */
export function wordsDistance(a: Uint32Array, b: Uint32Array, bOffset = 0): number {
  let d = 0;
  for (let k = 0; k < 8; k++) d += popcount32((a[k]! ^ b[bOffset + k]!) >>> 0);
  return d;
}

/**
 * Hamming distance between two PDQ hashes in text form, 0..256. Meta's suggested match
 * threshold is ≤ 31 (pdq/README.md).
 * @example pdqDistance("f".repeat(64), "0".repeat(64)) // 256
 */
export function pdqDistance(a: string, b: string): number {
  return wordsDistance(pdqWords(a), pdqWords(b));
}
