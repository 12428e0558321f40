import type { RawImage } from "./types.js";

/**
 * Area-averaged luma (BT.601, 0..255) on a grid of square cells `cell` pixels wide (≥ 1),
 * in one pass over the 8-bit input holding one row of accumulators: never a full-size float
 * copy, so huge images cost one read of their pixels and little memory.
 */
export function downsampleLuma(
  image: RawImage,
  cell: number,
  gridWidth: number,
  gridHeight: number,
  rowStep = 1,
): Float32Array {
  const { width, height } = image;
  const k = Math.round(cell);
  if (Math.abs(cell - k) < 1e-9 && width <= k * gridWidth && height <= k * gridHeight) {
    return downsampleInteger(image, k, gridWidth, gridHeight, Math.min(rowStep, k));
  }
  const { data, channels } = image;
  const xs = axisMap(width, cell, gridWidth);
  const ys = axisMap(height, cell, gridHeight);
  const grid = new Float64Array(gridWidth * gridHeight);
  const row = new Float64Array(gridWidth + 1);
  const i0 = xs.i0;
  const w0 = xs.w0;
  for (let y = 0; y < height; y++) {
    row.fill(0);
    let p = y * width * channels;
    if (channels >= 3) {
      for (let x = 0; x < width; x++, p += channels) {
        const v = 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!;
        const i = i0[x]!;
        const a = v * w0[x]!;
        row[i]! += a;
        row[i + 1]! += v - a;
      }
    } else {
      for (let x = 0; x < width; x++, p += channels) {
        const v = data[p]!;
        const i = i0[x]!;
        const a = v * w0[x]!;
        row[i]! += a;
        row[i + 1]! += v - a;
      }
    }
    const j = ys.i0[y]!;
    const a = ys.w0[y]!;
    let o = j * gridWidth;
    if (a === 1) {
      for (let i = 0; i < gridWidth; i++) grid[o + i]! += row[i]!;
    } else {
      const b = 1 - a;
      for (let i = 0; i < gridWidth; i++) grid[o + i]! += row[i]! * a;
      o += gridWidth;
      for (let i = 0; i < gridWidth; i++) grid[o + i]! += row[i]! * b;
    }
  }
  const out = new Float32Array(gridWidth * gridHeight);
  for (let j = 0; j < gridHeight; j++) {
    for (let i = 0; i < gridWidth; i++) {
      out[j * gridWidth + i] = grid[j * gridWidth + i]! / (xs.coverage[i]! * ys.coverage[j]!);
    }
  }
  return out;
}

/**
 * The common case of a whole number of pixels per cell (1024² has 4, 768² has 3, 512² has
 * 2): sums k pixels in a register per cell, with no per-pixel weights. `rowStep` > 1 reads
 * only every rowStep-th row (used for masking, where an estimate is enough).
 */
function downsampleInteger(
  image: RawImage,
  k: number,
  gw: number,
  gh: number,
  rowStep: number,
): Float32Array {
  const { data, width, height, channels } = image;
  const sums = new Float64Array(gw * gh);
  const rowsRead = new Float64Array(gh);
  const full = Math.floor(width / k);
  const colour = channels >= 3;
  const cr = colour ? 0.299 : 1;
  const cg = colour ? 0.587 : 0;
  const cb = colour ? 0.114 : 0;
  const g = colour ? 1 : 0;
  const b = colour ? 2 : 0;
  const c = channels;
  for (let y = 0; y < height; y += rowStep) {
    const j = Math.floor(y / k);
    const o = j * gw;
    rowsRead[j]! += 1;
    let p = y * width * c;
    // Unrolled for the usual cell widths: a loop of two or three steps costs more than its body.
    if (k === 2) {
      for (let i = 0; i < full; i++, p += 2 * c) {
        sums[o + i]! +=
          cr * (data[p]! + data[p + c]!) +
          cg * (data[p + g]! + data[p + c + g]!) +
          cb * (data[p + b]! + data[p + c + b]!);
      }
    } else if (k === 3) {
      const c2 = 2 * c;
      for (let i = 0; i < full; i++, p += 3 * c) {
        sums[o + i]! +=
          cr * (data[p]! + data[p + c]! + data[p + c2]!) +
          cg * (data[p + g]! + data[p + c + g]! + data[p + c2 + g]!) +
          cb * (data[p + b]! + data[p + c + b]! + data[p + c2 + b]!);
      }
    } else {
      for (let i = 0; i < full; i++) {
        let s = 0;
        for (let t = 0; t < k; t++, p += c)
          s += cr * data[p]! + cg * data[p + g]! + cb * data[p + b]!;
        sums[o + i]! += s;
      }
    }
    for (let x = full * k; x < width; x++, p += c) {
      sums[o + full]! += cr * data[p]! + cg * data[p + g]! + cb * data[p + b]!;
    }
  }
  const out = new Float32Array(gw * gh);
  const lastWidth = width - full * k;
  for (let j = 0; j < gh; j++) {
    for (let i = 0; i < gw; i++) {
      const n = rowsRead[j]! * (i < full ? k : lastWidth);
      out[j * gw + i] = n > 0 ? sums[j * gw + i]! / n : 0;
    }
  }
  return out;
}

/** Per source pixel along one axis: the first cell it covers and the share that goes there. */
interface AxisMap {
  i0: Int32Array;
  /** Share of the pixel in cell i0; the rest goes to i0 + 1. */
  w0: Float32Array;
  /** Total pixel coverage of each cell (the last one may be partial). */
  coverage: Float64Array;
}

function axisMap(size: number, cell: number, cells: number): AxisMap {
  const i0 = new Int32Array(size);
  const w0 = new Float32Array(size);
  const coverage = new Float64Array(cells);
  for (let x = 0; x < size; x++) {
    const a = Math.min(cells - 1, Math.floor(x / cell));
    const spill = a + 1 < cells ? Math.max(0, x + 1 - (a + 1) * cell) : 0;
    i0[x] = a;
    w0[x] = 1 - spill;
    coverage[a]! += 1 - spill;
    if (spill > 0) coverage[a + 1]! += spill;
  }
  // A grid row/column that no pixel reaches (only with rounding at the far edge) stays 0.
  for (let i = 0; i < cells; i++) if (coverage[i] === 0) coverage[i] = 1;
  return { i0, w0, coverage };
}
