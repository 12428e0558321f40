/**
 * Rejoining words that the detector boxed apart. DB detection splits a line where the gap
 * between words is wide (monospaced type, letter-spaced marks, a banner's "Getty   Images"),
 * and each box is read alone: "Getty" and "Images" never meet the lexicon's "getty images",
 * because the lines are screened one per line. Boxes that continue one another (same direction,
 * same height, the next starting where the previous ends, on the same baseline) are joined
 * into one more reading, screened beside the lines as read.
 */
import type { TextLine } from "./ocr.js";

/** Most difference in direction between two boxes of one line. */
const MAX_ANGLE_DIFF_DEG = 12;
/** Most ratio between the taller and the shorter box. */
const MAX_HEIGHT_RATIO = 1.6;
/**
 * Widest gap between the boxes, in box heights: about four spaces of monospaced type (a word
 * space of proportional type leaves the boxes, which carry a margin, touching or overlapping).
 */
const MAX_GAP_HEIGHTS = 2.5;
/** Most offset across the line, in box heights. */
const MAX_OFFSET_HEIGHTS = 0.5;

interface Geometry {
  cx: number;
  cy: number;
  ux: number;
  uy: number;
  width: number;
  height: number;
  angle: number;
}

function geometry(line: TextLine): Geometry {
  const [p0, p1, , p3] = line.quad;
  const width = Math.hypot(p1.x - p0.x, p1.y - p0.y);
  const height = Math.hypot(p3.x - p0.x, p3.y - p0.y);
  const cx = line.quad.reduce((a, p) => a + p.x, 0) / 4;
  const cy = line.quad.reduce((a, p) => a + p.y, 0) / 4;
  const ux = width > 0 ? (p1.x - p0.x) / width : 1;
  const uy = width > 0 ? (p1.y - p0.y) / width : 0;
  return { cx, cy, ux, uy, width, height, angle: line.angle };
}

/** Whether `b` continues the line `a` (b follows a in a's reading direction). */
function continues(a: Geometry, b: Geometry): number | null {
  let diff = Math.abs(a.angle - b.angle) % 360;
  if (diff > 180) diff = 360 - diff;
  if (diff > MAX_ANGLE_DIFF_DEG) return null;
  const h = (a.height + b.height) / 2;
  if (h <= 0 || Math.max(a.height, b.height) / Math.min(a.height, b.height) > MAX_HEIGHT_RATIO)
    return null;
  const dx = b.cx - a.cx;
  const dy = b.cy - a.cy;
  const along = dx * a.ux + dy * a.uy;
  const across = Math.abs(-dx * a.uy + dy * a.ux);
  if (along <= 0.25 * Math.max(a.width, b.width) || across > MAX_OFFSET_HEIGHTS * h) return null;
  const gap = along - (a.width + b.width) / 2;
  return gap <= MAX_GAP_HEIGHTS * h ? gap : null;
}

/**
 * The texts of chains of two or more boxes that continue one another, each chain's words
 * joined by one space, in reading order along the chain. Lines that stand alone give nothing.
 */
export function joinedLineReadings(lines: readonly TextLine[]): string[] {
  const g = lines.map(geometry);
  // Each box's nearest follower; a box followed by two takes the nearer.
  const next = new Array<number>(lines.length).fill(-1);
  const hasPrevious = new Array<boolean>(lines.length).fill(false);
  for (let i = 0; i < lines.length; i++) {
    let best = Number.POSITIVE_INFINITY;
    for (let j = 0; j < lines.length; j++) {
      if (i === j) continue;
      const gap = continues(g[i]!, g[j]!);
      if (gap !== null && gap < best) {
        best = gap;
        next[i] = j;
      }
    }
  }
  for (const j of next) if (j >= 0) hasPrevious[j] = true;
  const out: string[] = [];
  for (let start = 0; start < lines.length; start++) {
    if (hasPrevious[start] || next[start]! < 0) continue;
    const words: string[] = [];
    const seen = new Set<number>();
    for (let k = start; k >= 0 && !seen.has(k); k = next[k]!) {
      seen.add(k);
      words.push(lines[k]!.text.trim());
    }
    if (words.length > 1) out.push(words.join(" "));
  }
  return out;
}
