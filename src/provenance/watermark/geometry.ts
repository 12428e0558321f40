/**
 * The fixed analysis resolution. The mark lives on a grid of about 256×256 cells laid over
 * the image whatever its size (a cell is sqrt(width·height)/256 pixels, never under one), so
 * embedding and detection cost does not grow with the pixel count beyond one pass, and a
 * resize of the whole image leaves the grid where it was.
 */
export const ANALYSIS_SIDE = 256;

export interface AnalysisGeometry {
  /** Cell size in image pixels (≥ 1). */
  cell: number;
  /** Grid width and height in cells (the last column/row may be partial). */
  gridWidth: number;
  gridHeight: number;
}

/**
 * Embedding uses cells of at least 3 pixels where the image is large enough to keep about
 * 170 cells (5 tiles) across: 2-pixel cells on a 512² image are fine detail that WebP and
 * JPEG at quality 50 remove, 3-pixel cells survive. Detection keeps the finer grid, which
 * sees these cells as 1–3 analysis pixels, inside the synchronisation range.
 */
export const EMBED_MIN_CELL = 3;
const EMBED_MIN_CELLS_ACROSS = 170;

/** Geometry of the grid a mark is embedded on. */
export function embedGeometry(width: number, height: number): AnalysisGeometry {
  const side = Math.sqrt(width * height);
  const small = Math.min(EMBED_MIN_CELL, side / EMBED_MIN_CELLS_ACROSS);
  return gridFor(width, height, Math.max(1, small, side / ANALYSIS_SIDE));
}

/** Geometry of the grid a detector analyses. */
export function analysisGeometry(width: number, height: number): AnalysisGeometry {
  return gridFor(width, height, Math.max(1, Math.sqrt(width * height) / ANALYSIS_SIDE));
}

function gridFor(width: number, height: number, cell: number): AnalysisGeometry {
  return {
    cell,
    gridWidth: Math.max(1, Math.ceil(width / cell - 1e-9)),
    gridHeight: Math.max(1, Math.ceil(height / cell - 1e-9)),
  };
}
