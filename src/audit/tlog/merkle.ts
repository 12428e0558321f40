import { HallmarkError } from "../../errors/index.js";
import { CompactRange } from "./compact.js";
import { HASH_SIZE } from "./hash.js";

/**
 * The Merkle Tree Hash (MTH) of RFC 9162 §2.1.1
 * (https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1) and the leaf source that proof
 * generation reads from.
 */

/**
 * The `root hash` (MTH) of a list of `leaf hash`es, of any size including 0 (the empty tree
 * hashes to SHA-256 of the empty string). O(n) hashing, O(log n) memory.
 */
export function rootHash(leafHashes: readonly Uint8Array[]): Uint8Array {
  const range = CompactRange.empty();
  for (const leaf of leafHashes) range.append(leaf);
  return range.root();
}

/** The largest power of two strictly smaller than n (n > 1): the split point `k` of MTH. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Where proof generation reads `leaf hash`es: a database table, an HTTP tile cache, or
 * memory. Indexes are 0-based log indexes; ranges are half-open [start, end).
 */
export interface LeafSource {
  /** Number of leaves in the log now. */
  size(): Promise<number>;
  /** The leaf hashes of leaves [start, end), in order, exactly end − start of them. */
  leafHashes(start: number, end: number): Promise<Uint8Array[]>;
  /**
   * Optional: a stored hash of the perfect subtree over leaves
   * [index·2^level, (index+1)·2^level) (as `CompactRange.append` reports them), or
   * undefined when not stored; proofs then hash leaves instead.
   */
  perfectSubtreeHash?(level: number, index: number): Promise<Uint8Array | undefined>;
}

/** An in-memory `LeafSource` for tests and small logs. */
export class MemoryLeafSource implements LeafSource {
  readonly #leaves: Uint8Array[] = [];

  constructor(leafHashes: readonly Uint8Array[] = []) {
    for (const leaf of leafHashes) this.append(leaf);
  }

  /** Appends a `leaf hash`; returns its log index. */
  append(leaf: Uint8Array): number {
    if (leaf.length !== HASH_SIZE) {
      throw new HallmarkError("invalid_request_error", `a leaf hash has ${HASH_SIZE} bytes`, {
        param: "leafHash",
      });
    }
    this.#leaves.push(leaf.slice());
    return this.#leaves.length - 1;
  }

  async size(): Promise<number> {
    return this.#leaves.length;
  }

  async leafHashes(start: number, end: number): Promise<Uint8Array[]> {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end))) {
      throw new HallmarkError("invalid_request_error", "leaf range bounds must be integers");
    }
    if (start < 0 || end < start || end > this.#leaves.length) {
      throw new HallmarkError(
        "invalid_request_error",
        `leaf range [${start}, ${end}) is outside [0, ${this.#leaves.length})`,
      );
    }
    return this.#leaves.slice(start, end);
  }
}
