/**
 * Random bytes as the content of a positive DER INTEGER (certificate serials, TSA nonces).
 *
 * DER wants the shortest two's-complement form: no 0x00 first byte unless the next byte has
 * its top bit set, and a top bit set means negative. Forcing the first byte into 0x40..0x7f
 * meets both rules for every input. Clearing the top bit alone left 0x00 one time in 128,
 * and c2pa-rs reads a time-stamp whose nonce is encoded that way as `timeStamp.malformed`.
 */
export function positiveDerInteger(random: Uint8Array): Uint8Array {
  const out = Uint8Array.from(random);
  if (out.length === 0) throw new RangeError("an INTEGER needs at least one byte");
  out[0] = ((out[0] ?? 0) & 0x3f) | 0x40;
  return out;
}
