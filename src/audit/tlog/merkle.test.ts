import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompactRange, type PerfectNode, popCount } from "./compact.js";
import vectors from "./fixtures/rfc6962-vectors.json" with { type: "json" };
import { emptyRoot, fromHex, leafHash, nodeHash, toHex } from "./hash.js";
import { MemoryLeafSource, rootHash, splitPoint } from "./merkle.js";

const leaves = vectors.leaves.map((hex) => leafHash(fromHex(hex)));
const utf8 = (s: string) => new TextEncoder().encode(s);

/** MTH written as RFC 9162 §2.1.1 states it, recursively: the reference for properties. */
function referenceMth(hashes: Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return emptyRoot();
  if (hashes.length === 1) return hashes[0]!;
  const k = splitPoint(hashes.length);
  return nodeHash(referenceMth(hashes.slice(0, k)), referenceMth(hashes.slice(k)));
}

const leafArb = fc.uint8Array({ maxLength: 16 }).map(leafHash);

describe("RFC 6962 hasher (transparency-dev/merkle rfc6962_test.go)", () => {
  it("hashes the empty tree, the empty leaf, a leaf and a node as published", () => {
    expect(toHex(emptyRoot())).toBe(vectors.hasher.emptyRoot);
    expect(toHex(leafHash(new Uint8Array()))).toBe(vectors.hasher.emptyLeaf.leafHash);
    expect(toHex(leafHash(utf8(vectors.hasher.leaf.dataUtf8)))).toBe(vectors.hasher.leaf.leafHash);
    const { leftUtf8, rightUtf8, hash } = vectors.hasher.node;
    expect(toHex(nodeHash(utf8(leftUtf8), utf8(rightUtf8)))).toBe(hash);
  });

  it("separates leaves from nodes and orders children", () => {
    const a = leafHash(utf8("Hello"));
    const b = leafHash(utf8("World"));
    const ab = nodeHash(a, b);
    expect(toHex(ab)).not.toBe(toHex(leafHash(new Uint8Array([...a, ...b]))));
    expect(toHex(ab)).not.toBe(toHex(nodeHash(b, a)));
  });
});

describe("rootHash", () => {
  it("gives the published root for every prefix of the 8 reference leaves", () => {
    vectors.roots.forEach((root, i) => {
      expect(toHex(rootHash(leaves.slice(0, i + 1)))).toBe(root);
    });
  });

  it("gives SHA-256 of the empty string for the empty tree", () => {
    expect(toHex(rootHash([]))).toBe(vectors.hasher.emptyRoot);
  });

  it("equals the recursive MTH definition for any list", () => {
    fc.assert(
      fc.property(fc.array(leafArb, { maxLength: 70 }), (hashes) => {
        expect(toHex(rootHash(hashes))).toBe(toHex(referenceMth(hashes)));
      }),
    );
  });
});

describe("CompactRange", () => {
  it("reports each perfect subtree once, with the hash MTH gives its leaves", () => {
    const seen: PerfectNode[] = [];
    const range = CompactRange.empty();
    for (const leaf of leaves) range.append(leaf, (node) => seen.push(node));
    // 8 leaves + 4 + 2 + 1 interior perfect nodes.
    expect(seen).toHaveLength(15);
    for (const { level, index, hash } of seen) {
      const width = 2 ** level;
      expect(toHex(hash)).toBe(toHex(rootHash(leaves.slice(index * width, (index + 1) * width))));
    }
    expect(toHex(range.root())).toBe(vectors.roots[7]);
  });

  it("resumes from its saved state", () => {
    fc.assert(
      fc.property(fc.array(leafArb, { maxLength: 40 }), fc.nat(40), (hashes, cut) => {
        const at = Math.min(cut, hashes.length);
        const first = CompactRange.empty();
        for (const h of hashes.slice(0, at)) first.append(h);
        const resumed = CompactRange.fromState(first.state());
        for (const h of hashes.slice(at)) resumed.append(h);
        expect(resumed.size).toBe(hashes.length);
        expect(toHex(resumed.root())).toBe(toHex(rootHash(hashes)));
      }),
    );
  });

  it("refuses a state whose hash count does not fit the size", () => {
    expect(() => CompactRange.fromState({ size: 3, hashes: [leaves[0]!] })).toThrow(/2 hashes/);
    expect(() => CompactRange.fromState({ size: -1, hashes: [] })).toThrow(/invalid tree size/);
    expect(() => CompactRange.empty().append(new Uint8Array(31))).toThrow(/32 bytes/);
  });

  it("counts bits past 32 bits", () => {
    expect(popCount(2 ** 40 + 2 ** 33 + 1)).toBe(3);
    expect(popCount(Number.MAX_SAFE_INTEGER)).toBe(53);
  });
});

describe("MemoryLeafSource", () => {
  it("serves ranges and refuses ones outside the log", async () => {
    const source = new MemoryLeafSource(leaves);
    expect(await source.size()).toBe(8);
    expect((await source.leafHashes(2, 5)).map(toHex)).toEqual(leaves.slice(2, 5).map(toHex));
    await expect(source.leafHashes(5, 9)).rejects.toThrow(/outside/);
    await expect(source.leafHashes(3, 2)).rejects.toThrow(/outside/);
  });
});
