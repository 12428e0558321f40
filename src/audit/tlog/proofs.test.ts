import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompactRange } from "./compact.js";
import vectors from "./fixtures/rfc6962-vectors.json" with { type: "json" };
import { emptyRoot, fromHex, leafHash, nodeHash, toHex } from "./hash.js";
import { type LeafSource, MemoryLeafSource, rootHash } from "./merkle.js";
import {
  compactRangeAt,
  consistencyProof,
  inclusionProof,
  rootHashAt,
  subtreeHash,
} from "./proofs.js";
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from "./verify-proofs.js";

const leaves = vectors.leaves.map((hex) => leafHash(fromHex(hex)));
const roots = vectors.roots.map(fromHex);
const source = new MemoryLeafSource(leaves);
const someHash = fromHex("abacaba000000000000000000000000000000000000000000060061e00123456");
const hexes = (hashes: Uint8Array[]) => hashes.map(toHex);
const flip = (hashes: Uint8Array[], i: number, mask: number) =>
  hashes.map((h, j) => (j === i ? h.map((b, k) => (k === 0 ? b ^ mask : b)) : h));

describe("inclusion proofs (transparency-dev/merkle proof/verify_test.go)", () => {
  it.each(vectors.inclusionProofs)("generates and verifies leaf $index of $size", async (v) => {
    const proof = await inclusionProof(source, v.index, v.size);
    expect(hexes(proof)).toEqual(v.proof);
    const root = roots[v.size - 1]!;
    expect(toHex(rootFromInclusionProof(leaves[v.index]!, v.index, v.size, proof)!)).toBe(
      toHex(root),
    );
    expect(verifyInclusion(leaves[v.index]!, v.index, v.size, proof, root)).toBe(true);
  });

  it.each(vectors.inclusionProofs)("rejects corrupted probes for leaf $index of $size", (v) => {
    const proof = v.proof.map(fromHex);
    const root = roots[v.size - 1]!;
    const leaf = leaves[v.index]!;
    const probes: Array<[number, number, Uint8Array, Uint8Array, Uint8Array[]]> = [
      [v.index - 1, v.size, leaf, root, proof],
      [v.index + 1, v.size, leaf, root, proof],
      [v.index ^ 2, v.size, leaf, root, proof],
      [v.index, v.size * 2, leaf, root, proof],
      [v.index, Math.floor(v.size / 2), leaf, root, proof],
      [v.index, v.size, new TextEncoder().encode("WrongLeaf"), root, proof],
      [v.index, v.size, leaf, emptyRoot(), proof],
      [v.index, v.size, leaf, someHash, proof],
      [v.index, v.size, leaf, root, [...proof, new Uint8Array()]],
      [v.index, v.size, leaf, root, [...proof, root]],
      [v.index, v.size, leaf, root, [new Uint8Array(), ...proof]],
      [v.index, v.size, leaf, root, [root, ...proof]],
      ...proof.map((_, i) => [v.index, v.size, leaf, root, flip(proof, i, 8)] as const),
      ...(proof.length > 0 ? [[v.index, v.size, leaf, root, proof.slice(0, -1)] as const] : []),
      ...(proof.length > 1
        ? [[v.index, v.size, leaf, root, [proof[0]!, someHash, ...proof.slice(1)]] as const]
        : []),
    ].map((p) => [...p] as [number, number, Uint8Array, Uint8Array, Uint8Array[]]);
    for (const [index, size, l, r, p] of probes) {
      expect(verifyInclusion(l, index, size, p, r)).toBe(false);
    }
  });

  it("refuses impossible positions", () => {
    for (const [index, size] of [
      [0, 0],
      [1, 0],
      [2, 1],
    ] as const) {
      expect(verifyInclusion(someHash, index, size, [], emptyRoot())).toBe(false);
    }
    const one = leafHash(new TextEncoder().encode("data"));
    expect(verifyInclusion(one, 0, 1, [], one)).toBe(true);
    expect(verifyInclusion(one, 0, 1, [], new Uint8Array())).toBe(false);
    expect(verifyInclusion(new Uint8Array(), 0, 1, [], one)).toBe(false);
  });

  it("throws invalid_request_error for out-of-range requests", async () => {
    await expect(inclusionProof(source, 8, 8)).rejects.toMatchObject({
      code: "invalid_request_error",
      param: "index",
    });
    await expect(inclusionProof(source, 0, 9)).rejects.toMatchObject({ param: "size" });
    await expect(inclusionProof(source, -1, 3)).rejects.toMatchObject({ param: "index" });
    await expect(inclusionProof(source, 1.5, 3)).rejects.toMatchObject({ param: "index" });
  });
});

describe("consistency proofs (transparency-dev/merkle proof/verify_test.go)", () => {
  it.each(vectors.consistencyProofs)("generates and verifies $first → $second", async (v) => {
    const proof = await consistencyProof(source, v.first, v.second);
    expect(hexes(proof)).toEqual(v.proof);
    expect(
      verifyConsistency(v.first, v.second, proof, roots[v.first - 1]!, roots[v.second - 1]!),
    ).toBe(true);
  });

  it.each(vectors.consistencyProofs.filter((v) => v.proof.length > 0))(
    "rejects corrupted probes for $first → $second",
    (v) => {
      const proof = v.proof.map(fromHex);
      const [r1, r2] = [roots[v.first - 1]!, roots[v.second - 1]!];
      const wrong = new TextEncoder().encode("WrongRoot");
      const probes: Array<[number, number, Uint8Array, Uint8Array, Uint8Array[]]> = [
        [v.first - 1, v.second, r1, r2, proof],
        [v.first + 1, v.second, r1, r2, proof],
        [v.first ^ 2, v.second, r1, r2, proof],
        [v.first, v.second * 2, r1, r2, proof],
        [v.first, Math.floor(v.second / 2), r1, r2, proof],
        [v.first, v.second, wrong, r2, proof],
        [v.first, v.second, r1, wrong, proof],
        [v.first, v.second, r2, r1, proof],
        [v.first, v.second, r1, r2, []],
        [v.first, v.second, r1, r2, [...proof, new Uint8Array()]],
        [v.first, v.second, r1, r2, [...proof, r1]],
        [v.first, v.second, r1, r2, [...proof, r2]],
        [v.first, v.second, r1, r2, [new Uint8Array(), ...proof]],
        [v.first, v.second, r1, r2, [r1, ...proof]],
        [v.first, v.second, r1, r2, [r2, ...proof]],
        [v.first, v.second, r1, r2, [proof[0]!, ...proof]],
        [v.first, v.second, r1, r2, proof.slice(0, -1)],
        ...proof.map((_, i) => [v.first, v.second, r1, r2, flip(proof, i, 16)] as const),
      ].map((p) => [...p] as [number, number, Uint8Array, Uint8Array, Uint8Array[]]);
      for (const [m, n, a, b, p] of probes) expect(verifyConsistency(m, n, p, a, b)).toBe(false);
    },
  );

  it("handles the trivial cases as the reference verifier does", () => {
    const [r1, r2] = [leaves[0]!, leaves[1]!];
    const e = emptyRoot();
    expect(verifyConsistency(0, 0, [], r1, r2)).toBe(false);
    expect(verifyConsistency(1, 1, [], r1, r2)).toBe(false);
    expect(verifyConsistency(0, 0, [], r1, r1)).toBe(true);
    expect(verifyConsistency(0, 1, [], r1, r2)).toBe(true);
    expect(verifyConsistency(1, 1, [], r2, r2)).toBe(true);
    expect(verifyConsistency(1, 0, [], r1, r2)).toBe(false);
    expect(verifyConsistency(2, 1, [], r1, r2)).toBe(false);
    expect(verifyConsistency(1, 2, [], r1, r2)).toBe(false);
    expect(verifyConsistency(0, 0, [e], e, e)).toBe(false);
    expect(verifyConsistency(0, 1, [e], e, e)).toBe(false);
    expect(verifyConsistency(1, 1, [e], e, e)).toBe(false);
  });

  it("throws invalid_request_error for out-of-range requests", async () => {
    await expect(consistencyProof(source, 5, 4)).rejects.toMatchObject({ param: "first" });
    await expect(consistencyProof(source, 1, 9)).rejects.toMatchObject({ param: "second" });
    expect(await consistencyProof(source, 0, 8)).toEqual([]);
    expect(await consistencyProof(source, 8, 8)).toEqual([]);
  });
});

/** A log of random leaves, a size, and positions inside it. */
const treeArb = fc
  .array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: 80 })
  .chain((data) =>
    fc.record({
      hashes: fc.constant(data.map(leafHash)),
      size: fc.integer({ min: 1, max: data.length }),
      a: fc.nat(),
      bit: fc.nat(255),
    }),
  );

describe("properties", () => {
  it("every inclusion proof verifies, and one flipped bit makes it fail", async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, async ({ hashes, size, a, bit }) => {
        const src = new MemoryLeafSource(hashes);
        const index = a % size;
        const root = rootHash(hashes.slice(0, size));
        const proof = await inclusionProof(src, index, size);
        expect(verifyInclusion(hashes[index]!, index, size, proof, root)).toBe(true);
        const mask = 1 << (bit % 8);
        const badLeaf = hashes[index]!.map((b, k) => (k === bit % 32 ? b ^ mask : b));
        expect(verifyInclusion(badLeaf, index, size, proof, root)).toBe(false);
        if (proof.length > 0) {
          const badProof = flip(proof, bit % proof.length, mask);
          expect(verifyInclusion(hashes[index]!, index, size, badProof, root)).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("every consistency proof verifies, and one flipped bit makes it fail", async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, async ({ hashes, size, a, bit }) => {
        const src = new MemoryLeafSource(hashes);
        const first = a % (size + 1);
        const r1 = rootHash(hashes.slice(0, first));
        const r2 = rootHash(hashes.slice(0, size));
        const proof = await consistencyProof(src, first, size);
        expect(verifyConsistency(first, size, proof, r1, r2)).toBe(true);
        if (proof.length > 0) {
          const badProof = flip(proof, bit % proof.length, 1 << (bit % 8));
          expect(verifyConsistency(first, size, badProof, r1, r2)).toBe(false);
          const badRoot = r2.map((b, k) => (k === 0 ? b ^ 1 : b));
          expect(verifyConsistency(first, size, proof, r1, badRoot)).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("stored perfect subtree hashes give the same roots and proofs as leaves", async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, async ({ hashes, size, a }) => {
        const plain = new MemoryLeafSource(hashes);
        const stored = new Map<string, Uint8Array>();
        const cr = CompactRange.empty();
        // Keep only levels ≥ 2 stored, so proofs mix stored nodes and leaf hashing.
        for (const h of hashes) {
          cr.append(h, (n) => {
            if (n.level >= 2) stored.set(`${n.level}/${n.index}`, n.hash);
          });
        }
        const cached: LeafSource = {
          size: () => plain.size(),
          leafHashes: (s, e) => plain.leafHashes(s, e),
          perfectSubtreeHash: async (level, index) => stored.get(`${level}/${index}`),
        };
        const index = a % size;
        expect(toHex(await rootHashAt(cached, size))).toBe(toHex(await rootHashAt(plain, size)));
        expect(hexes(await inclusionProof(cached, index, size))).toEqual(
          hexes(await inclusionProof(plain, index, size)),
        );
        expect(hexes(await consistencyProof(cached, index, size))).toEqual(
          hexes(await consistencyProof(plain, index, size)),
        );
        expect(toHex((await compactRangeAt(cached, size)).root())).toBe(
          toHex(rootHash(hashes.slice(0, size))),
        );
      }),
      { numRuns: 60 },
    );
  });
});

describe("trees past 2^32 leaves", () => {
  // Every leaf equal: the perfect subtree of level k hashes to H_k = node(H_{k−1}, H_{k−1}),
  // so a source can serve a huge tree from 64 hashes and check the 53-bit arithmetic.
  const leaf = leafHash(new TextEncoder().encode("same"));
  const levels = [leaf];
  for (let k = 1; k < 54; k++) levels.push(nodeHash(levels[k - 1]!, levels[k - 1]!));
  const huge = (size: number): LeafSource => ({
    size: async () => size,
    leafHashes: async (s, e) => Array.from({ length: e - s }, () => leaf),
    perfectSubtreeHash: async (level) => levels[level],
  });

  it.each([
    [2 ** 32 + 3, 2 ** 31 + 7, 2 ** 32 - 1],
    [2 ** 40 + 2 ** 33 + 5, 2 ** 40 + 1, 2 ** 35],
    [2 ** 52 + 12345, 2 ** 52 - 1, 2 ** 51 + 3],
  ])("size %d: inclusion of %d, consistency from %d", async (size, index, first) => {
    const src = huge(size);
    const root = await rootHashAt(src, size);
    const proof = await inclusionProof(src, index, size);
    expect(verifyInclusion(leaf, index, size, proof, root)).toBe(true);
    // With equal leaves only the shape binds, so corrupt the path instead of the position.
    expect(verifyInclusion(leaf, index, size, flip(proof, proof.length - 1, 1), root)).toBe(false);
    expect(verifyInclusion(leaf, index, size * 4, proof, root)).toBe(false);
    const firstRoot = await subtreeHash(src, 0, first);
    const cproof = await consistencyProof(src, first, size);
    expect(verifyConsistency(first, size, cproof, firstRoot, root)).toBe(true);
    expect(verifyConsistency(first, size, flip(cproof, 0, 1), firstRoot, root)).toBe(false);
  });
});
