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
  const xs = axisInterp(width, geo.cell, gw);
  const ys = axisInterp(height, geo.cell, geo.gridHeight);
  const out = new Uint8Array(data);
  // One spare slot so that i0 + 1 is always readable (its weight is 0 at the last cell).
  const row = new Float32Array(gw + 1);
  const colour = channels >= 3;
  const deltas = new Int32Array(width);
  const xi = xs.i0;
  const xt = xs.t;
  let sumSq = 0;
  for (let y = 0; y < height; y++) {
    const r0 = ys.i0[y]! * gw;
    const r1 = Math.min(ys.i0[y]! + 1, geo.gridHeight - 1) * gw;
    const ty = ys.t[y]!;
    for (let i = 0; i < gw; i++) {
      const a = delta[r0 + i]!;
      row[i] = a + ty * (delta[r1 + i]! - a);
    }
    // Rounded changes for the row first (float work only), then the pixels (integers only).
    for (let x = 0; x < width; x++) {
      const i = xi[x]!;
      const a = row[i]!;
      // floor(d + 0.5) by truncating a shifted positive value: no Math.round call.
      deltas[x] = ((a + xt[x]! * (row[i + 1]! - a) + 256.5) | 0) - 256;
    }
    // Branch-free (Math.min/max compile to conditional moves): the signs are random, so
    // branches here would be mispredicted half the time.
    let p = y * width * channels;
    if (colour) {
      for (let x = 0; x < width; x++, p += channels) {
        const di = deltas[x]!;
        const r = out[p]! + di;
        const g = out[p + 1]! + di;
        const b = out[p + 2]! + di;
        if (((r | g | b) & ~255) === 0) {
          out[p] = r;
          out[p + 1] = g;
          out[p + 2] = b;
          sumSq += di * di;
        } else {
          // Rare: a channel would clip. Limit the change so none does (no tint).
          const r0 = r - di;
          const g0 = g - di;
          const b0 = b - di;
          const d = Math.min(Math.max(di, -Math.min(r0, g0, b0)), 255 - Math.max(r0, g0, b0));
          out[p] = r0 + d;
          out[p + 1] = g0 + d;
          out[p + 2] = b0 + d;
          sumSq += d * d;
        }
      }
    } else {
      for (let x = 0; x < width; x++, p += channels) {
        const v = out[p]!;
        const di = Math.min(Math.max(deltas[x]!, -v), 255 - v);
        out[p] = v + di;
        sumSq += di * di;
      }
    }
  }
  const mse = sumSq / (width * height);
  const psnr = mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
  return { image: { width, height, channels, data: out }, psnr };
}
