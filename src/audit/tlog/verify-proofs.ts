import { HASH_SIZE, hashEquals, nodeHash } from "./hash.js";

/**
 * Proof verification (the verifying side), written to be read against RFC 9162:
 * `inclusion proof`s per §2.1.3.2 (https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.2)
 * and `consistency proof`s per §2.1.4.2
 * (https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.2). Nothing here throws on bad
 * input: a malformed proof, size or hash simply does not verify. Tree sizes are numbers
 * up to 2^53 − 1, so bit tests use arithmetic (`% 2`, `/ 2`), not 32-bit operators.
 */

const isSize = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const isHash = (h: Uint8Array): boolean => h.length === HASH_SIZE;
const lsb = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/** Exact for all safe integers (Math.log2 rounds: log2(2^51 + 3) === 51). */
function isPowerOfTwo(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

/**
 * The root hash that an `inclusion proof` for `leaf` at `index` in a tree of `size` leaves
 * leads to, or null when the proof cannot be one (wrong length, bad sizes, bad hash sizes).
 */
export function rootFromInclusionProof(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array | null {
  // 1. leaf_index must be below tree_size.
  if (!isSize(index) || !isSize(size) || index >= size || !isHash(leaf)) return null;
  if (!proof.every(isHash)) return null;
  // 2.–3. fn = leaf_index, sn = tree_size − 1, r = hash.
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  // 4. Fold in each path element, as left or right sibling.
  for (const p of proof) {
    if (sn === 0) return null;
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!lsb(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // 5. The path must have been exactly long enough.
  return sn === 0 ? r : null;
}

/**
 * Whether `proof` is a valid `inclusion proof` that the leaf with hash `leaf` is at `index`
 * in the tree of `size` leaves whose root hash is `root`.
 *
 * @example verifyInclusion(leafHash(entryBytes), 2, 5, proof, checkpoint.rootHash)
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const computed = rootFromInclusionProof(leaf, index, size, proof);
  return computed !== null && isHash(root) && hashEquals(computed, root);
}

/**
 * Whether `proof` is a valid `consistency proof` that the tree of `first` leaves with root
 * `firstRoot` is a prefix of the tree of `second` leaves with root `secondRoot`.
 * For first = second the proof must be empty and the roots equal; for first = 0 the proof
 * must be empty (the empty tree is a prefix of every tree).
 */
export function verifyConsistency(
  first: number,
  second: number,
  proof: readonly Uint8Array[],
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
): boolean {
  if (!isSize(first) || !isSize(second) || first > second) return false;
  if (!proof.every(isHash)) return false;
  if (first === second) {
    return proof.length === 0 && isHash(firstRoot) && hashEquals(firstRoot, secondRoot);
  }
  if (first === 0) return proof.length === 0;
  if (!isHash(firstRoot) || !isHash(secondRoot)) return false;
  // 1. A non-trivial proof is never empty.
  if (proof.length === 0) return false;
  // 2. If first is an exact power of 2, the old root is the first path element.
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  // 3.–4. fn = first − 1, sn = second − 1, shifted right while LSB(fn) is set.
  let fn = first - 1;
  let sn = second - 1;
  while (lsb(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5. fr and sr start at the first path element.
  let fr = path[0]!;
  let sr = path[0]!;
  // 6. Fold in the rest, rebuilding both roots at once.
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!lsb(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  // 7. Both roots must match and the path must have reached the top.
  return hashEquals(fr, firstRoot) && hashEquals(sr, secondRoot) && sn === 0;
}
