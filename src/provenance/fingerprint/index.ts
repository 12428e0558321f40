/**
 * Perceptual fingerprints: Meta's PDQ hash, Hamming distances and operator hash lists. The
 * gateway stores every output's PDQ hash with its image row so that the verify endpoint can find
 * copies whose watermark and metadata were stripped. See docs/image-screening.md.
 */
export {
  PDQ_HASH_SIDE,
  type PdqEncodedOptions,
  type PdqHasher,
  pdqHashEncoded,
  pdqHashRawForLookup,
} from "./encoded.js";
export { isPdqHex, pdqDistance } from "./hamming.js";
export {
  type HashList,
  type HashListMatch,
  loadHashList,
  matchHashLists,
  parseHashList,
} from "./hash-list.js";
export { PDQ_MIN_DIMENSION, pdqHash } from "./pdq.js";
export type { PdqResult, RawImage } from "./types.js";
