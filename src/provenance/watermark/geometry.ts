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

export function analysisGeometry(width: number, height: number): AnalysisGeometry {
  const cell = Math.max(1, Math.sqrt(width * height) / ANALYSIS_SIDE);
  return {
    cell,
    gridWidth: Math.max(1, Math.ceil(width / cell - 1e-9)),
    gridHeight: Math.max(1, Math.ceil(height / cell - 1e-9)),
  };
}
