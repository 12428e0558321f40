import { codedLength } from "./conv-code.js";
import { keyedStream, type WatermarkKey } from "./key.js";
import { CRC_BITS, PAYLOAD_BITS } from "./payload.js";

/** Side of the repeated tile in mark cells. */
export const TILE = 32;
export const TILE_CELLS = TILE * TILE;
/** Code bits carried by one tile (88 information bits, rate 1/3, six tail bits). */
export const CODED_BITS = codedLength(PAYLOAD_BITS + CRC_BITS);
/** Cells carrying each code bit in one tile. */
export const CELLS_PER_BIT = Math.floor(TILE_CELLS / CODED_BITS) - 0;
/** Cells of known sign that locate the tile (translation, flips and quarter turns). */
export const PILOT_CELLS = TILE_CELLS - CELLS_PER_BIT * CODED_BITS;

/**
 * The keyed layout of one tile: every cell has a pseudo-random sign; pilot cells carry that
 * sign alone, the others carry it times one code bit. Cells of one code bit are scattered
 * over the tile by a keyed permutation, so a local defect hits many bits a little.
 */
export interface TileLayout {
  /** ±1 per cell (row-major, TILE×TILE). */
  sign: Int8Array;
  /** Per cell: -1 for a pilot cell, else the index of the code bit it carries. */
  bitOf: Int16Array;
  /** The pilot pattern: the sign at pilot cells, 0 elsewhere. */
  pilot: Float64Array;
}

export function buildTileLayout(key: WatermarkKey): TileLayout {
  const random = keyedStream(key, "tile-layout-v1", TILE_CELLS * 4 + TILE_CELLS);
  const view = new DataView(random.buffer);
  const order = new Int32Array(TILE_CELLS);
  for (let i = 0; i < TILE_CELLS; i++) order[i] = i;
  // Fisher–Yates with keyed 32-bit draws (modulo bias below 1e-6 is irrelevant here).
  for (let i = TILE_CELLS - 1; i > 0; i--) {
    const j = view.getUint32(i * 4) % (i + 1);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  const sign = new Int8Array(TILE_CELLS);
  for (let i = 0; i < TILE_CELLS; i++) sign[i] = random[TILE_CELLS * 4 + i]! & 1 ? 1 : -1;
  const bitOf = new Int16Array(TILE_CELLS).fill(-1);
  for (let r = 0; r < CELLS_PER_BIT; r++) {
    for (let j = 0; j < CODED_BITS; j++) bitOf[order[PILOT_CELLS + r * CODED_BITS + j]!] = j;
  }
  const pilot = new Float64Array(TILE_CELLS);
  for (let i = 0; i < TILE_CELLS; i++) if (bitOf[i] === -1) pilot[i] = sign[i]!;
  return { sign, bitOf, pilot };
}

/** The tile's cell values (±1) for given code symbols (±1 per code bit). */
export function tilePattern(layout: TileLayout, symbols: Int8Array): Float64Array {
  const out = new Float64Array(TILE_CELLS);
  for (let i = 0; i < TILE_CELLS; i++) {
    const bit = layout.bitOf[i]!;
    out[i] = bit < 0 ? layout.sign[i]! : layout.sign[i]! * symbols[bit]!;
  }
  return out;
}
