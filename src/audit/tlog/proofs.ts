import { HallmarkError } from "../../errors/index.js";
import { CompactRange } from "./compact.js";
import { emptyRoot, HASH_SIZE, nodeHash } from "./hash.js";
import { type LeafSource, rootHash, splitPoint } from "./merkle.js";

/**
 * Proof generation (the writing side) over a `LeafSource`: `inclusion proof`s
 * (RFC 9162 §2.1.3.1, https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.1) and
 * `consistency proof`s (RFC 9162 §2.1.4.1, https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.1).
 * Verification lives apart, in verify-proofs.ts, and does not depend on this file.
 */

function badRequest(message: string, param: string): HallmarkError {
  return new HallmarkError("invalid_request_error", message, { param });
}

function checkInteger(value: number, param: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw badRequest(`${param} must be a non-negative integer`, param);
  }
}

async function checkSize(source: LeafSource, size: number, param: string): Promise<void> {
  checkInteger(size, param);
  const available = await source.size();
  if (size > available) {
    throw badRequest(`${param} ${size} is larger than the log (${available} entries)`, param);
  }
}

async function fetchLeaves(source: LeafSource, start: number, end: number): Promise<Uint8Array[]> {
  const leaves = await source.leafHashes(start, end);
  if (leaves.length !== end - start || leaves.some((h) => h.length !== HASH_SIZE)) {
    throw new HallmarkError(
      "internal_error",
      `leaf source returned ${leaves.length} hashes for [${start}, ${end})`,
    );
  }
  return leaves;
}

/**
 * MTH(D[start:end]) for a range that is a subtree of the log's tree (`start` a multiple of
 * the largest power of two not above end − start, as every range of PATH and SUBPROOF is).
 * Uses `perfectSubtreeHash` where the source stores them, else hashes the leaves.
 */
export async function subtreeHash(
  source: LeafSource,
  start: number,
  end: number,
): Promise<Uint8Array> {
  if (end === start) return emptyRoot();
  const stored = source.perfectSubtreeHash?.bind(source);
  if (stored === undefined) return rootHash(await fetchLeaves(source, start, end));
  // Perfect chunks, largest first, then folded right to left as MTH nests them.
  const chunks: Uint8Array[] = [];
  let pos = start;
  let width = 1;
  while (width * 2 <= end - start) width *= 2;
  for (let level = Math.log2(width); pos < end; width /= 2, level -= 1) {
    if (pos + width > end) continue;
    const hash =
      (await stored(level, pos / width)) ?? rootHash(await fetchLeaves(source, pos, pos + width));
    if (hash.length !== HASH_SIZE) {
      throw new HallmarkError("internal_error", `stored subtree hash at ${level}/${pos / width}`);
    }
    chunks.push(hash);
    pos += width;
  }
  let root = chunks[chunks.length - 1]!;
  for (let i = chunks.length - 2; i >= 0; i--) root = nodeHash(chunks[i]!, root);
  return root;
}

/** The `root hash` of the first `size` leaves of the source. */
export async function rootHashAt(source: LeafSource, size: number): Promise<Uint8Array> {
  await checkSize(source, size, "size");
  return subtreeHash(source, 0, size);
}

/**
 * The compact range of the first `size` leaves, e.g. to resume the sequencer after a restart
 * when no `CompactRangeState` was saved.
 */
export async function compactRangeAt(source: LeafSource, size: number): Promise<CompactRange> {
  await checkSize(source, size, "size");
  const hashes: Uint8Array[] = [];
  let width = 1;
  while (width * 2 <= size) width *= 2;
  for (let pos = 0; pos < size; width /= 2) {
    if (pos + width > size) continue;
    hashes.push(await subtreeHash(source, pos, pos + width));
    pos += width;
  }
  return CompactRange.fromState({ size, hashes });
}

/**
 * The `inclusion proof` PATH(index, D[size]) of the leaf at `index` in the tree of `size`
 * leaves: sibling hashes from the leaf up. Throws `HallmarkError("invalid_request_error")`
 * (param `index` or `size`) unless 0 ≤ index < size ≤ the source's size.
 *
 * @example const proof = await inclusionProof(source, 2, 5); // 3 hashes
 */
export async function inclusionProof(
  source: LeafSource,
  index: number,
  size: number,
): Promise<Uint8Array[]> {
  checkInteger(index, "index");
  await checkSize(source, size, "size");
  if (index >= size) throw badRequest(`index ${index} is not below size ${size}`, "index");
  const ranges: Array<[number, number]> = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      ranges.push([start + k, end]);
      end = start + k;
    } else {
      ranges.push([start, start + k]);
      start += k;
    }
  }
  // Collected root-down; the proof lists them leaf-up.
  ranges.reverse();
  const proof: Uint8Array[] = [];
  for (const [a, b] of ranges) proof.push(await subtreeHash(source, a, b));
  return proof;
}

/**
 * The `consistency proof` PROOF(first, D[second]) between the trees of `first` and `second`
 * leaves; empty when first is 0 or equals second. Throws
 * `HallmarkError("invalid_request_error")` (param `first` or `second`) unless
 * 0 ≤ first ≤ second ≤ the source's size.
 */
export async function consistencyProof(
  source: LeafSource,
  first: number,
  second: number,
): Promise<Uint8Array[]> {
  checkInteger(first, "first");
  await checkSize(source, second, "second");
  if (first > second) throw badRequest(`first ${first} is above second ${second}`, "first");
  if (first === 0 || first === second) return [];
  // SUBPROOF(m, D[start:end], b), unrolled: m counts leaves of the old tree inside the range.
  const ranges: Array<[number, number]> = [];
  let start = 0;
  let end = second;
  let m = first;
  let complete = true;
  while (m !== end - start) {
    const k = splitPoint(end - start);
    if (m <= k) {
      ranges.push([start + k, end]);
      end = start + k;
    } else {
      ranges.push([start, start + k]);
      start += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) ranges.push([start, end]);
  ranges.reverse();
  const proof: Uint8Array[] = [];
  for (const [a, b] of ranges) proof.push(await subtreeHash(source, a, b));
  return proof;
}
