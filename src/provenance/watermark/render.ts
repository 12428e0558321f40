import type { AnalysisGeometry } from "./geometry.js";
import type { RawImage } from "./types.js";

/** Bilinear positions of pixel centres between cell centres along one axis. */
function axisInterp(
  size: number,
  cell: number,
  cells: number,
): { i0: Int32Array; t: Float32Array } {
  const i0 = new Int32Array(size);
  const t = new Float32Array(size);
  for (let x = 0; x < size; x++) {
    const u = Math.max(0, (x + 0.5) / cell - 0.5);
    const a = Math.min(cells - 1, Math.floor(u));
    i0[x] = a;
    t[x] = a + 1 < cells ? u - a : 0;
  }
  return { i0, t };
}

/** One grid row (starting at `offset` in `delta`) interpolated to every pixel column. */
function fillRow(
  target: Float32Array,
  delta: Float32Array,
  offset: number,
  gw: number,
  xs: { i0: Int32Array; t: Float32Array },
): void {
  const { i0, t } = xs;
  for (let x = 0; x < target.length; x++) {
    const i = i0[x]!;
    const a = delta[offset + i]!;
    target[x] = i + 1 < gw ? a + t[x]! * (delta[offset + i + 1]! - a) : a;
  }
}

/**
 * Half-open pixel spans [start, end) of a pair of interpolated rows where either is non-zero,
 * written flat into `spans`; returns how many numbers were written.
 */
function nonZeroSpans(upper: Float32Array, lower: Float32Array, spans: Int32Array): number {
  let n = 0;
  let start = -1;
  for (let x = 0; x < upper.length; x++) {
    const zero = upper[x] === 0 && lower[x] === 0;
    if (!zero && start < 0) start = x;
    else if (zero && start >= 0) {
      spans[n++] = start;
      spans[n++] = x;
      start = -1;
    }
  }
  if (start >= 0) {
    spans[n++] = start;
    spans[n++] = upper.length;
  }
  return n;
}

/**
 * Adds the cell field `delta` (grey levels per cell) to the image, bilinearly interpolated
 * to every pixel. Colour pixels get the same change on R, G and B, limited so that no channel
 * clips: hue and saturation stay exactly as they were (no tinted dots in saturated areas).
 * Alpha is copied. Returns the marked copy and its PSNR over the colour channels.
 */
export function renderMark(
  image: RawImage,
  geo: AnalysisGeometry,
  delta: Float32Array,
): { image: RawImage; psnr: number } {
  const { width, height, channels, data } = image;
  const gw = geo.gridWidth;
  const gh = geo.gridHeight;
  const xs = axisInterp(width, geo.cell, gw);
  const ys = axisInterp(height, geo.cell, gh);
  // Every byte is written below, so the output needs no zeroing or copying first.
  const out = Buffer.allocUnsafeSlow(data.length);
  // Grid rows interpolated horizontally to full width, once per grid row (not per pixel
  // row); each pixel row then blends two of them with sequential reads only.
  let upper = new Float32Array(width);
  let lower = new Float32Array(width);
  let upperRow = -1;
  let lowerRow = -1;
  // Where both rows are zero (flat areas, which the masking leaves untouched) the pixels are
  // copied as they are, a memcpy instead of the per-pixel arithmetic below.
  const spans = new Int32Array(width + 2);
  let spanCount = 0;
  const colour = channels >= 3;
  const alpha = channels === 4 || channels === 2;
  let sumSq = 0;
  for (let y = 0; y < height; y++) {
    const j0 = ys.i0[y]!;
    const j1 = Math.min(j0 + 1, gh - 1);
    let changed = false;
    if (upperRow !== j0) {
      if (lowerRow === j0) {
        const swap = upper;
        upper = lower;
        lower = swap;
      } else fillRow(upper, delta, j0 * gw, gw, xs);
      upperRow = j0;
      lowerRow = -1;
      changed = true;
    }
    if (lowerRow !== j1) {
      fillRow(lower, delta, j1 * gw, gw, xs);
      lowerRow = j1;
      changed = true;
    }
    if (changed) spanCount = nonZeroSpans(upper, lower, spans);
    const ty = ys.t[y]!;
    const rowStart = y * width * channels;
    let copied = 0;
    for (let s = 0; s < spanCount; s += 2) {
      const x0 = spans[s]!;
      const x1 = spans[s + 1]!;
      if (x0 > copied) {
        out.set(
          data.subarray(rowStart + copied * channels, rowStart + x0 * channels),
          rowStart + copied * channels,
        );
      }
      copied = x1;
      let p = rowStart + x0 * channels;
      if (colour) {
        for (let x = x0; x < x1; x++, p += channels) {
          const a = upper[x]!;
          // floor(d + 0.5) by truncating a shifted positive value: no Math.round call.
          const di = ((a + ty * (lower[x]! - a) + 256.5) | 0) - 256;
          const r0 = data[p]!;
          const g0 = data[p + 1]!;
          const b0 = data[p + 2]!;
          // Limit the change so that no channel clips (no tint); branch-free, because dark
          // and bright areas would make a branch unpredictable.
          const d = Math.min(Math.max(di, -Math.min(r0, g0, b0)), 255 - Math.max(r0, g0, b0));
          out[p] = r0 + d;
          out[p + 1] = g0 + d;
          out[p + 2] = b0 + d;
          sumSq += d * d;
          if (alpha) out[p + 3] = data[p + 3]!;
        }
      } else {
        for (let x = x0; x < x1; x++, p += channels) {
          const a = upper[x]!;
          const v = data[p]!;
          const di = Math.min(
            Math.max(((a + ty * (lower[x]! - a) + 256.5) | 0) - 256, -v),
            255 - v,
          );
          out[p] = v + di;
          sumSq += di * di;
          if (alpha) out[p + 1] = data[p + 1]!;
        }
      }
    }
    if (copied < width) {
      out.set(
        data.subarray(rowStart + copied * channels, rowStart + width * channels),
        rowStart + copied * channels,
      );
    }
  }
  const mse = sumSq / (width * height);
  const psnr = mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
  const marked = new Uint8Array(out.buffer, out.byteOffset, out.length);
  return { image: { width, height, channels, data: marked }, psnr };
}
