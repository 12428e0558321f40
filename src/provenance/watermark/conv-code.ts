/**
 * Rate-1/3 convolutional code, constraint length 7, generators 133, 171, 165 (octal; the
 * LTE rate-1/3 code), terminated with six zero tail bits, and its soft-decision Viterbi
 * decoder. Soft decoding uses the raw correlation of every code bit, so cells that the
 * attack hurt most count least, which is what lets a weak mark still decode exactly.
 */

const K = 7;
const STATES = 1 << (K - 1);
const GENERATORS = [0o133, 0o171, 0o165];
export const CODE_RATE_INV = GENERATORS.length;

function parity(x: number): number {
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return x & 1;
}

/** For each 7-bit register (newest bit at bit 6), the three code bits as ±1 (bit 0 → +1). */
const BRANCH = (() => {
  const out = new Int8Array((1 << K) * CODE_RATE_INV);
  for (let reg = 0; reg < 1 << K; reg++) {
    for (let g = 0; g < CODE_RATE_INV; g++) {
      out[reg * CODE_RATE_INV + g] = parity(reg & GENERATORS[g]!) ? -1 : 1;
    }
  }
  return out;
})();

/** Number of code bits for `infoBits` information bits (tail included). */
export function codedLength(infoBits: number): number {
  return (infoBits + K - 1) * CODE_RATE_INV;
}

/** Encodes 0/1 bits into code symbols ±1 (bit 0 → +1). */
export function convEncode(bits: Uint8Array): Int8Array {
  const out = new Int8Array(codedLength(bits.length));
  let state = 0;
  for (let t = 0; t < bits.length + K - 1; t++) {
    const b = t < bits.length ? bits[t]! & 1 : 0;
    const reg = (b << (K - 1)) | state;
    for (let g = 0; g < CODE_RATE_INV; g++) {
      out[t * CODE_RATE_INV + g] = BRANCH[reg * CODE_RATE_INV + g]!;
    }
    state = reg >> 1;
  }
  return out;
}

/**
 * Maximum-likelihood decoding of soft symbols (positive means bit 0, magnitude is
 * reliability) for a terminated code: starts and ends in state 0.
 */
export function viterbiDecode(soft: Float64Array, infoBits: number): Uint8Array {
  const steps = infoBits + K - 1;
  let metric = new Float64Array(STATES).fill(Number.NEGATIVE_INFINITY);
  let next = new Float64Array(STATES);
  metric[0] = 0;
  const survivor = new Uint8Array(steps * STATES);
  for (let t = 0; t < steps; t++) {
    const s0 = soft[t * 3]!;
    const s1 = soft[t * 3 + 1]!;
    const s2 = soft[t * 3 + 2]!;
    const tail = t >= infoBits;
    for (let ns = 0; ns < STATES; ns++) {
      const b = ns >> (K - 2);
      if (tail && b) {
        next[ns] = Number.NEGATIVE_INFINITY;
        continue;
      }
      const pa = (ns << 1) & (STATES - 1);
      const ra = ((b << (K - 1)) | pa) * 3;
      const rb = ra + 3;
      const ma = metric[pa]! + s0 * BRANCH[ra]! + s1 * BRANCH[ra + 1]! + s2 * BRANCH[ra + 2]!;
      const mb = metric[pa | 1]! + s0 * BRANCH[rb]! + s1 * BRANCH[rb + 1]! + s2 * BRANCH[rb + 2]!;
      if (mb > ma) {
        next[ns] = mb;
        survivor[t * STATES + ns] = 1;
      } else {
        next[ns] = ma;
      }
    }
    const tmp = metric;
    metric = next;
    next = tmp;
  }
  const bits = new Uint8Array(steps);
  let state = 0;
  for (let t = steps - 1; t >= 0; t--) {
    bits[t] = state >> (K - 2);
    state = ((state << 1) & (STATES - 1)) | survivor[t * STATES + state]!;
  }
  return bits.subarray(0, infoBits);
}
