import { CODE_RATE_INV, viterbiDecode } from "./conv-code.js";
import { demodulate, FOLD_SIDE, foldResidual, orientMatrix, type PilotCorrelator } from "./fold.js";
import { type AnalysisGeometry, analysisGeometry, embedGeometry } from "./geometry.js";
import { downsampleLuma } from "./luma.js";
import { CRC_BITS, encodePayloadHex, infoBitsToPayload, PAYLOAD_BITS } from "./payload.js";
import { markResidual } from "./residual.js";
import type { AutocorrelationSync, Lattice } from "./sync.js";
import { CODED_BITS, TILE, type TileLayout } from "./tile.js";
import type { DetectedMark, DetectResult, RawImage, WatermarkTransform } from "./types.js";

/** Smallest side the detector looks at. */
export const MIN_DETECT_SIDE = 64;
/** Lattice hypotheses taken from the autocorrelation. */
const LATTICES = 3;
/** Pilot peaks decoded per lattice (the second also finds a second mark). */
const PEAKS_PER_LATTICE = 2;
/**
 * Most decodes one detection attempts. Every decode of an unmarked image passes the CRC-24
 * with probability 2^-24, so the false-positive probability per image is at most
 * MAX_DECODES · 2^-24 = 7.2e-7 (docs/watermark.md).
 */
export const MAX_DECODES = 12;
/** Pilot correlation (z-score) below which no decode is tried. */
const MIN_PILOT_Z = 4;

export interface DetectContext {
  layout: TileLayout;
  sync: AutocorrelationSync;
  correlator: PilotCorrelator;
}

interface Peak {
  z: number;
  d: number;
  sx: number;
  sy: number;
}

function topPeaks(corr: Float64Array, count: number): Peak[] {
  const n = FOLD_SIDE * FOLD_SIDE;
  const peaks: Peak[] = [];
  for (let k = 0; k < corr.length; k++) {
    const z = corr[k]!;
    if (z < MIN_PILOT_Z) continue;
    const d = Math.floor(k / n);
    const r = k % n;
    const sx = r % FOLD_SIDE;
    const sy = Math.floor(r / FOLD_SIDE);
    // Keep one peak per neighbourhood (a peak spreads over adjacent half-cell shifts).
    // A plain loop, not findIndex: a closure here would allocate a context per value.
    let near = -1;
    for (let q = 0; q < peaks.length; q++) {
      const p = peaks[q]!;
      if (p.d === d && cyclicDist(p.sx, sx) <= 2 && cyclicDist(p.sy, sy) <= 2) {
        near = q;
        break;
      }
    }
    if (near >= 0) {
      if (peaks[near]!.z < z) peaks[near] = { z, d, sx, sy };
      continue;
    }
    peaks.push({ z, d, sx, sy });
  }
  peaks.sort((a, b) => b.z - a.z);
  return peaks.slice(0, count);
}

function cyclicDist(a: number, b: number): number {
  const d = Math.abs(a - b) % FOLD_SIDE;
  return Math.min(d, FOLD_SIDE - d);
}

/**
 * Confidence of an undetected candidate: a logistic in the pilot z-score, 0.5 at z = 7.
 * Unmarked images peak at z ≈ 4–6 (the maximum of ~10⁵ correlated near-normal values; the
 * residual's flat-area weighting leaves fewer independent cells, so the tail reached z ≈ 6.3
 * in 1,000 unmarked trials), so they score under about 0.2; a mark that synchronised but
 * failed its CRC scores higher.
 */
function syncConfidence(z: number): number {
  return 1 / (1 + Math.exp(-2 * (z - 7)));
}

/** A decoded mark passed the CRC: its chance of being false is at most MAX_DECODES·2^-24. */
const DECODED_CONFIDENCE = 1 - MAX_DECODES * 2 ** -24;

/**
 * The transform from the embedded tile to this image. `cellPx` is the analysis cell in image
 * pixels, `expectedCell` the mark cell an untouched image of this size would carry.
 */
function transformOf(
  lattice: Lattice,
  d: number,
  cellPx: number,
  expectedCell: number,
): WatermarkTransform {
  // Linear map from mark cell axes to analysis pixels: (V / TILE) · orientation.
  const [o00, o01, o10, o11] = orientMatrix(d);
  const v = [
    lattice.v1[0] / TILE,
    lattice.v2[0] / TILE,
    lattice.v1[1] / TILE,
    lattice.v2[1] / TILE,
  ];
  const l00 = v[0]! * o00 + v[1]! * o10;
  const l10 = v[2]! * o00 + v[3]! * o10;
  const l01 = v[0]! * o01 + v[1]! * o11;
  const l11 = v[2]! * o01 + v[3]! * o11;
  const det = l00 * l11 - l01 * l10;
  const flipped = det < 0;
  // Image y points down, so atan2 of the mapped x axis is a clockwise angle, as sharp rotates.
  let angle = flipped ? Math.atan2(l10, -l00) : Math.atan2(l10, l00);
  angle = (angle * 180) / Math.PI;
  if (angle <= -180) angle += 360;
  const scale = Math.sqrt(Math.abs(det));
  return {
    rotationDeg: Math.round(angle * 100) / 100,
    flipped,
    scale: Math.round(((scale * cellPx) / expectedCell) * 1000) / 1000,
    cellSizePx: Math.round(scale * cellPx * 1000) / 1000,
  };
}

/** Blind detection: finds the lattice, folds, locates the tile and decodes. */
export function detectMark(ctx: DetectContext, image: RawImage): DetectResult {
  return detectMarkDetailed(ctx, image).result;
}

/**
 * Detection plus, for evaluation, the information bits decoded from the strongest pilot
 * peak whether or not their CRC held (bit accuracy of failed decodes).
 */
export function detectMarkDetailed(
  ctx: DetectContext,
  image: RawImage,
): { result: DetectResult; strongestBits: Uint8Array | null } {
  if (Math.min(image.width, image.height) < MIN_DETECT_SIDE) {
    return { result: { detected: false, confidence: 0 }, strongestBits: null };
  }
  const state: SearchState = { found: [], bestZ: 0, strongestBits: null, decodes: 0 };
  const expectedCell = embedGeometry(image.width, image.height).cell;
  // First the grid proportional to the image (where any resize of a large original keeps
  // its cells at one analysis pixel), then, for small images, the grid they were embedded
  // on (whose cells are at least 3 pixels, see geometry.ts).
  const grids = [analysisGeometry(image.width, image.height)];
  if (Math.abs(expectedCell / grids[0]!.cell - 1) > 0.01) {
    grids.push(embedGeometry(image.width, image.height));
  }
  for (const geo of grids) {
    searchGrid(ctx, image, geo, expectedCell, state, MAX_DECODES / 2);
    if (state.found.length) break;
  }
  const { found, bestZ, strongestBits } = state;
  if (!found.length) {
    return { result: { detected: false, confidence: syncConfidence(bestZ) }, strongestBits };
  }
  const [best, ...others] = found;
  const result: DetectResult = {
    detected: true,
    payload: best!.payload,
    payloadHex: best!.payloadHex,
    confidence: best!.confidence,
    transform: best!.transform,
    ...(others.length ? { others } : {}),
  };
  return { result, strongestBits };
}

interface SearchState {
  found: DetectedMark[];
  bestZ: number;
  strongestBits: Uint8Array | null;
  decodes: number;
}

/** Synchronises, folds and decodes on one analysis grid, spending at most `budget` decodes. */
function searchGrid(
  ctx: DetectContext,
  image: RawImage,
  geo: AnalysisGeometry,
  expectedCell: number,
  state: SearchState,
  budget: number,
): void {
  const gw = geo.gridWidth;
  const gh = geo.gridHeight;
  const res = markResidual(downsampleLuma(image, geo.cell, gw, gh), gw, gh);
  const lattices = ctx.sync.find(res, gw, gh, LATTICES);
  const limit = Math.min(MAX_DECODES, state.decodes + budget);
  for (const lattice of lattices) {
    const folded = foldResidual(res, gw, gh, lattice);
    const corr = ctx.correlator.correlate(folded);
    for (const peak of topPeaks(corr, PEAKS_PER_LATTICE)) {
      if (state.decodes >= limit) return;
      state.decodes++;
      const soft = demodulate(folded, ctx.layout, peak.d, peak.sx, peak.sy, CODED_BITS);
      const bits = viterbiDecode(soft, CODED_BITS / CODE_RATE_INV - 6);
      if (peak.z >= state.bestZ) {
        state.bestZ = peak.z;
        state.strongestBits = bits;
      }
      const payload = infoBitsToPayload(bits.subarray(0, PAYLOAD_BITS + CRC_BITS));
      if (!payload) continue;
      const payloadHex = encodePayloadHex(payload);
      if (state.found.some((m) => m.payloadHex === payloadHex)) continue;
      state.found.push({
        payload,
        payloadHex,
        confidence: DECODED_CONFIDENCE,
        transform: transformOf(lattice, peak.d, geo.cell, expectedCell),
      });
    }
    if (state.found.length) return;
  }
}
