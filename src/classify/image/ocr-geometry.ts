/**
 * The plane geometry of text detection, written for this project (no OpenCV): connected regions
 * of a binary map, their convex hull, the minimum-area rotated rectangle around it (rotating
 * calipers), and the DB "unclip" that grows a shrunk text kernel back to the text's extent.
 */

export interface Point {
  x: number;
  y: number;
}

/** A rotated rectangle: centre, side lengths and the direction of the `width` side (radians). */
export interface RotatedRect {
  cx: number;
  cy: number;
  width: number;
  height: number;
  angle: number;
}

/** One 8-connected region of a binary map: its size and per-row extents. */
export interface Region {
  /** Pixels in the region. */
  size: number;
  /** Convex-hull input: for each row, the outer corners of its leftmost and rightmost pixels. */
  outline: Point[];
}

/**
 * Labels the 8-connected regions of `mask` (width × height, non-zero = set). `maxRegions`
 * bounds the work on pathological maps. Typed arrays throughout, sized once per call: a 960²
 * map is scanned on every detection pass, up to three per image.
 */
export function connectedRegions(
  mask: Uint8Array,
  width: number,
  height: number,
  maxRegions = 1000,
): Region[] {
  const seen = new Uint8Array(mask.length);
  const stack = new Int32Array(mask.length);
  // Per row, the region's leftmost and rightmost pixel (−1: the row is not in the region).
  const rowMin = new Int32Array(height).fill(-1);
  const rowMax = new Int32Array(height).fill(-1);
  const regions: Region[] = [];
  for (let start = 0; start < mask.length && regions.length < maxRegions; start++) {
    if (mask[start] === 0 || seen[start] === 1) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let size = 0;
    let yMin = height;
    let yMax = -1;
    while (top > 0) {
      const p = stack[--top]!;
      size++;
      const x = p % width;
      const y = (p - x) / width;
      if (y < yMin) yMin = y;
      if (y > yMax) yMax = y;
      if (rowMin[y] === -1 || x < rowMin[y]!) rowMin[y] = x;
      if (x > rowMax[y]!) rowMax[y] = x;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width || (dx === 0 && dy === 0)) continue;
          const q = ny * width + nx;
          if (mask[q] !== 0 && seen[q] === 0) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    const outline: Point[] = [];
    for (let y = yMin; y <= yMax; y++) {
      const lo = rowMin[y]!;
      if (lo === -1) continue;
      const hi = rowMax[y]!;
      outline.push({ x: lo, y }, { x: lo, y: y + 1 }, { x: hi + 1, y }, { x: hi + 1, y: y + 1 });
      rowMin[y] = -1;
      rowMax[y] = -1;
    }
    regions.push({ size, outline });
  }
  return regions;
}

/** Andrew's monotone chain; counter-clockwise in image coordinates' maths sense, no repeats. */
export function convexHull(points: Point[]): Point[] {
  const pts = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  if (pts.length < 3) return pts;
  const cross = (o: Point, a: Point, b: Point) =>
    (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const lower: Point[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower.at(-2)!, lower.at(-1)!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper.at(-2)!, upper.at(-1)!, p) <= 0) upper.pop();
    upper.push(p);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

/**
 * The smallest-area rectangle containing a convex polygon: one of its sides lies along a hull
 * edge (Freeman and Shapira), so each edge direction is tried.
 */
export function minAreaRect(hull: Point[]): RotatedRect {
  if (hull.length === 0) return { cx: 0, cy: 0, width: 0, height: 0, angle: 0 };
  let best: RotatedRect | undefined;
  let bestArea = Number.POSITIVE_INFINITY;
  const n = hull.length;
  for (let i = 0; i < Math.max(1, n); i++) {
    const a = hull[i]!;
    const b = hull[(i + 1) % n]!;
    let angle = Math.atan2(b.y - a.y, b.x - a.x);
    if (n === 1) angle = 0;
    const ux = Math.cos(angle);
    const uy = Math.sin(angle);
    let minU = Number.POSITIVE_INFINITY;
    let maxU = Number.NEGATIVE_INFINITY;
    let minV = Number.POSITIVE_INFINITY;
    let maxV = Number.NEGATIVE_INFINITY;
    for (const p of hull) {
      const u = p.x * ux + p.y * uy;
      const v = -p.x * uy + p.y * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = {
        cx: cu * ux - cv * uy,
        cy: cu * uy + cv * ux,
        width: maxU - minU,
        height: maxV - minV,
        angle,
      };
    }
  }
  return best!;
}

/**
 * DB's unclip: the text kernel the network predicts is the text region shrunk by
 * d = A·r / L (area, perimeter, ratio r = 1.5 in PaddleOCR); offsetting a rectangle outward by
 * d gives a rounded rectangle whose bounding rotated rectangle is (w + 2d) × (h + 2d).
 */
export function unclip(rect: RotatedRect, ratio: number): RotatedRect {
  const area = rect.width * rect.height;
  const perimeter = 2 * (rect.width + rect.height);
  const d = perimeter > 0 ? (area * ratio) / perimeter : 0;
  return { ...rect, width: rect.width + 2 * d, height: rect.height + 2 * d };
}

/**
 * The rectangle in reading order: `width` along the text (the long side), its direction
 * pointing right (or up for text running vertically), so the crop reads left to right.
 */
export function readingOrder(rect: RotatedRect): RotatedRect {
  let { width, height, angle } = rect;
  if (height > width) {
    [width, height] = [height, width];
    angle += Math.PI / 2;
  }
  let ux = Math.cos(angle);
  let uy = Math.sin(angle);
  // Mostly horizontal: read rightwards. Mostly vertical: read upwards (text turned 90° left,
  // as on book spines and most vertical watermarks).
  if (Math.abs(ux) >= Math.abs(uy) ? ux < 0 : uy > 0) {
    ux = -ux;
    uy = -uy;
  }
  return { cx: rect.cx, cy: rect.cy, width, height, angle: Math.atan2(uy, ux) };
}

/** The four corners, starting top-left of the reading direction, clockwise on screen. */
export function corners(rect: RotatedRect): [Point, Point, Point, Point] {
  const ux = Math.cos(rect.angle);
  const uy = Math.sin(rect.angle);
  // Normal pointing "down" the text (screen y grows downwards).
  const vx = -uy;
  const vy = ux;
  const hw = rect.width / 2;
  const hh = rect.height / 2;
  const at = (su: number, sv: number): Point => ({
    x: rect.cx + su * hw * ux + sv * hh * vx,
    y: rect.cy + su * hw * uy + sv * hh * vy,
  });
  return [at(-1, -1), at(1, -1), at(1, 1), at(-1, 1)];
}
