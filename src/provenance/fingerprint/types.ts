/**
 * A decoded image as raw 8-bit samples, row-major and interleaved (what sharp's `.raw()`
 * gives). Channels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA; alpha is ignored by hashing.
 */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** A PDQ hash (64 lowercase hex digits, Meta's text form) and its quality score in 0..100. */
export interface PdqResult {
  hash: string;
  /** Gradient-based quality, 0..100. Meta recommends discarding hashes with quality < 50. */
  quality: number;
}
