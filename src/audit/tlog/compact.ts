import { HallmarkError } from "../../errors/index.js";
import { emptyRoot, HASH_SIZE, nodeHash } from "./hash.js";

/**
 * A compact range over leaves [0, size): the roots of the perfect subtrees that make up the
 * tree, left to right, largest first (one per set bit of `size`). Appending a leaf merges
 * equal-sized subtrees, so the root hash of a growing log is kept in O(log n) memory and
 * O(1) amortised hashing per entry, without reading old entries again.
 * See https://github.com/transparency-dev/merkle/blob/main/docs/compact_ranges.md.
 */

/** A perfect subtree completed by an append: leaves [index·2^level, (index+1)·2^level). */
export interface PerfectNode {
  level: number;
  index: number;
  hash: Uint8Array;
}

/** What to persist to resume a compact range (e.g. beside the latest checkpoint). */
export interface CompactRangeState {
  size: number;
  hashes: Uint8Array[];
}

/** Number of set bits of a non-negative safe integer (numbers past 2^32 included). */
export function popCount(n: number): number {
  let count = 0;
  while (n > 0) {
    count += n % 2;
    n = Math.floor(n / 2);
  }
  return count;
}

export class CompactRange {
  #size: number;
  readonly #hashes: Uint8Array[];

  private constructor(size: number, hashes: Uint8Array[]) {
    this.#size = size;
    this.#hashes = hashes;
  }

  /** The compact range of the empty tree. */
  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /**
   * Resumes from a saved state. Throws `HallmarkError("invalid_request_error")` when the
   * number of hashes is not popCount(size) or a hash is not 32 bytes.
   */
  static fromState(state: CompactRangeState): CompactRange {
    const { size, hashes } = state;
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new HallmarkError("invalid_request_error", `invalid tree size ${size}`, {
        param: "size",
      });
    }
    if (hashes.length !== popCount(size) || hashes.some((h) => h.length !== HASH_SIZE)) {
      throw new HallmarkError(
        "invalid_request_error",
        `a compact range of size ${size} has ${popCount(size)} hashes of ${HASH_SIZE} bytes`,
        { param: "hashes" },
      );
    }
    return new CompactRange(
      size,
      hashes.map((h) => h.slice()),
    );
  }

  /** Number of leaves covered. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends one `leaf hash`. `onNode`, if given, sees the leaf (level 0) and every perfect
   * subtree this append completes, bottom up; a store can keep them to serve proofs
   * without rehashing leaves (see `LeafSource.perfectSubtreeHash`).
   */
  append(leaf: Uint8Array, onNode?: (node: PerfectNode) => void): void {
    if (leaf.length !== HASH_SIZE) {
      throw new HallmarkError("invalid_request_error", `a leaf hash has ${HASH_SIZE} bytes`, {
        param: "leafHash",
      });
    }
    const newSize = this.#size + 1;
    let hash = leaf;
    let level = 0;
    let width = 1;
    onNode?.({ level, index: newSize - 1, hash });
    // Each trailing 1 bit of the old size is a perfect subtree of the new node's width.
    for (let s = this.#size; s % 2 === 1; s = Math.floor(s / 2)) {
      const left = this.#hashes.pop()!;
      hash = nodeHash(left, hash);
      level += 1;
      width *= 2;
      onNode?.({ level, index: newSize / width - 1, hash });
    }
    this.#hashes.push(hash);
    this.#size = newSize;
  }

  /** The root hash (MTH) of leaves [0, size). */
  root(): Uint8Array {
    const hashes = this.#hashes;
    if (hashes.length === 0) return emptyRoot();
    let root = hashes[hashes.length - 1]!;
    for (let i = hashes.length - 2; i >= 0; i--) root = nodeHash(hashes[i]!, root);
    return root;
  }

  /** A copy of the state, to persist and later pass to `fromState`. */
  state(): CompactRangeState {
    return { size: this.#size, hashes: this.#hashes.map((h) => h.slice()) };
  }
}
