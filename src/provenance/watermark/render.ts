import type { AnalysisGeometry } from "./geometry.js";
import type { RawImage } from "./types.js";

interface AxisInterp {
  i0: Int32Array;
  i1: Int32Array;
  t: Float32Array;
}

/** Bilinear interpolation positions of pixel centres between cell centres along one axis. */
function axisInterp(size: number, cell: number, cells: number): AxisInterp {
  const i0 = new Int32Array(size);
  const i1 = new Int32Array(size);
  const t = new Float32Array(size);
  for (let x = 0; x < size; x++) {
    const u = Math.max(0, (x + 0.5) / cell - 0.5);
    const a = Math.min(cells - 1, Math.floor(u));
    i0[x] = a;
    i1[x] = Math.min(cells - 1, a + 1);
    t[x] = a + 1 < cells ? u - a : 0;
  }
  return { i0, i1, t };
}

/**
 * Adds the cell field `delta` (grey levels per cell) to the image, bilinearly interpolated
 * to every pixel. Colour pixels get the same change on R, G and B, limited so that no channel
 * clips: hue and saturation stay exactly as they were (no tinted dots in saturated areas).
 * Alpha is copied. Returns the marked copy and its PSNR against the input.
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
  const out = new Uint8Array(data.length);
  out.set(data);
  const row = new Float32Array(gw);
  const colour = channels >= 3;
  let sumSq = 0;
  for (let y = 0; y < height; y++) {
    const r0 = ys.i0[y]! * gw;
    const r1 = ys.i1[y]! * gw;
    const ty = ys.t[y]!;
    for (let i = 0; i < gw; i++) row[i] = delta[r0 + i]! + ty * (delta[r1 + i]! - delta[r0 + i]!);
    let p = y * width * channels;
    for (let x = 0; x < width; x++, p += channels) {
      const a = row[xs.i0[x]!]!;
      let d = a + xs.t[x]! * (row[xs.i1[x]!]! - a);
      if (colour) {
        const r = data[p]!;
        const g = data[p + 1]!;
        const b = data[p + 2]!;
        const lo = r < g ? (r < b ? r : b) : g < b ? g : b;
        const hi = r > g ? (r > b ? r : b) : g > b ? g : b;
        if (d < -lo) d = -lo;
        else if (d > 255 - hi) d = 255 - hi;
        const di = Math.round(d);
        if (di !== 0) {
          out[p] = r + di;
          out[p + 1] = g + di;
          out[p + 2] = b + di;
          sumSq += 3 * di * di;
        }
      } else {
        const v = data[p]!;
        const di = Math.round(Math.min(255 - v, Math.max(-v, d)));
        if (di !== 0) {
          out[p] = v + di;
          sumSq += di * di;
        }
      }
    }
  }
  const mse = sumSq / (width * height * (colour ? 3 : 1));
  const psnr = mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse);
  return { image: { width, height, channels, data: out }, psnr };
}
