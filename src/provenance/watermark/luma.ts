import type { AnalysisGeometry } from "./geometry.js";
import type { RawImage } from "./types.js";

/** Per source pixel index along one axis: the one or two grid cells it covers and how much. */
interface AxisMap {
  i0: Int32Array;
  w0: Float32Array;
  /** Weight going to cell i0 + 1 (0 when the pixel lies inside one cell). */
  w1: Float32Array;
  /** Pixels' total coverage of each cell (the last cell may be partial). */
  coverage: Float64Array;
}

function axisMap(size: number, cell: number, cells: number): AxisMap {
  const i0 = new Int32Array(size);
  const w0 = new Float32Array(size);
  const w1 = new Float32Array(size);
  const coverage = new Float64Array(cells);
  for (let x = 0; x < size; x++) {
    const a = Math.min(cells - 1, Math.floor(x / cell));
    const boundary = (a + 1) * cell;
    const spill = a + 1 < cells ? Math.max(0, x + 1 - boundary) : 0;
    i0[x] = a;
    w0[x] = 1 - spill;
    w1[x] = spill;
    coverage[a]! += 1 - spill;
    if (spill > 0) coverage[a + 1]! += spill;
  }
  return { i0, w0, w1, coverage };
}

export interface LumaGrid {
  width: number;
  height: number;
  /** Mean luma (BT.601, 0..255) of each cell. */
  luma: Float32Array;
  /** Mean absolute luma gradient inside each cell at full resolution (embedding only). */
  activity?: Float32Array;
}

function lumaRow(image: RawImage, y: number, out: Float32Array): void {
  const { data, width, channels } = image;
  let p = y * width * channels;
  if (channels >= 3) {
    for (let x = 0; x < width; x++, p += channels) {
      out[x] = 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!;
    }
  } else {
    for (let x = 0; x < width; x++, p += channels) out[x] = data[p]!;
  }
}

/**
 * Area-averages the image's luma onto the analysis grid in one pass, holding two rows of
 * floats beside the 8-bit input (never a full-size float copy). With `withActivity` it also
 * gathers, per cell, the mean absolute gradient at full resolution: fine texture that the
 * averaged luma no longer shows but which still hides the mark.
 */
export function lumaGrid(image: RawImage, geo: AnalysisGeometry, withActivity: boolean): LumaGrid {
  const { width, height } = image;
  const gw = geo.gridWidth;
  const gh = geo.gridHeight;
  const xs = axisMap(width, geo.cell, gw);
  const ys = axisMap(height, geo.cell, gh);
  const luma = new Float32Array(gw * gh);
  const activity = withActivity ? new Float32Array(gw * gh) : undefined;
  let cur = new Float32Array(width);
  let prev = new Float32Array(width);
  const rowLuma = new Float64Array(gw);
  const rowAct = new Float64Array(gw);
  for (let y = 0; y < height; y++) {
    lumaRow(image, y, cur);
    rowLuma.fill(0);
    for (let x = 0; x < width; x++) {
      const v = cur[x]!;
      const i = xs.i0[x]!;
      const s = xs.w1[x]!;
      if (s === 0) rowLuma[i]! += v;
      else {
        rowLuma[i]! += v * xs.w0[x]!;
        rowLuma[i + 1]! += v * s;
      }
    }
    if (activity) {
      rowAct.fill(0);
      for (let x = 0; x < width; x++) {
        const v = cur[x]!;
        const gx = x > 0 ? Math.abs(v - cur[x - 1]!) : 0;
        const gy = y > 0 ? Math.abs(v - prev[x]!) : 0;
        const g = gx + gy;
        const i = xs.i0[x]!;
        const s = xs.w1[x]!;
        if (s === 0) rowAct[i]! += g;
        else {
          rowAct[i]! += g * xs.w0[x]!;
          rowAct[i + 1]! += g * s;
        }
      }
    }
    const j = ys.i0[y]!;
    const t = ys.w1[y]!;
    const a = ys.w0[y]!;
    addRow(luma, j * gw, rowLuma, a);
    if (t > 0) addRow(luma, (j + 1) * gw, rowLuma, t);
    if (activity) {
      addRow(activity, j * gw, rowAct, a);
      if (t > 0) addRow(activity, (j + 1) * gw, rowAct, t);
    }
    const swap = prev;
    prev = cur;
    cur = swap;
  }
  for (let j = 0; j < gh; j++) {
    for (let i = 0; i < gw; i++) {
      const area = xs.coverage[i]! * ys.coverage[j]!;
      luma[j * gw + i]! /= area;
      if (activity) activity[j * gw + i]! /= area;
    }
  }
  return activity ? { width: gw, height: gh, luma, activity } : { width: gw, height: gh, luma };
}

function addRow(grid: Float32Array, offset: number, row: Float64Array, weight: number): void {
  for (let i = 0; i < row.length; i++) grid[offset + i]! += row[i]! * weight;
}
