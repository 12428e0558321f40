import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HallmarkError } from "../../errors/index.js";
import { canonicalJson, canonicalJsonBytes, entryLeafHash, isCanonicalJson } from "./canonical.js";
import v from "./fixtures/rfc8785-vectors.json" with { type: "json" };
import { leafHash, toHex } from "./hash.js";

const fromBits = (hex: string): number => Buffer.from(hex, "hex").readDoubleBE(0);

describe("RFC 8785 with the canonicalize package", () => {
  it.each(v.numbers)("serializes IEEE-754 %s as %s (Appendix B)", (bits, expected) => {
    expect(canonicalize(fromBits(bits))).toBe(expected);
    expect(canonicalJson(fromBits(bits))).toBe(expected);
  });

  it.each(v.invalidNumbers)("rejects NaN and Infinity %s", (bits) => {
    expect(() => canonicalize(fromBits(bits))).toThrow();
    expect(() => canonicalJson({ n: fromBits(bits) })).toThrow(HallmarkError);
  });

  it("produces the bytes of the §3.2.2 example exactly", () => {
    const bytes = canonicalJsonBytes(JSON.parse(v.example.input));
    expect(Buffer.from(bytes).toString("hex")).toBe(v.example.outputHex);
  });

  it("sorts members by UTF-16 code units (cyberphone weird.json)", () => {
    expect(canonicalJson(JSON.parse(v.sorting.input))).toBe(v.sorting.output);
  });
});

describe("canonicalJson", () => {
  it("refuses what JSON cannot hold exactly", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [
      { a: 1n },
      { a: () => 1 },
      { a: Symbol("s") },
      [1, undefined],
      { s: "\ud800" },
      { "\udc00": 1 },
      new Map([["a", 1]]),
      { bytes: new Uint8Array([1]) },
      cyclic,
      undefined,
    ]) {
      expect(() => canonicalJson(bad)).toThrow(HallmarkError);
    }
  });

  it("drops members set to undefined and uses toJSON, as JSON does", () => {
    expect(canonicalJson({ b: undefined, a: new Date(0) })).toBe(
      '{"a":"1970-01-01T00:00:00.000Z"}',
    );
  });

  it("is a fixed point: canonical text parses back to itself", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        expect(isCanonicalJson(new TextEncoder().encode(text))).toBe(true);
      }),
    );
  });

  it("does not depend on member order", () => {
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: "x" })).toBe(
      canonicalJson({ a: "x", b: [1, { c: 2, d: 1 }] }),
    );
  });

  it("hashes entries as the leaf hash of their canonical bytes", () => {
    const entry = { z: 1, a: "é" };
    expect(toHex(entryLeafHash(entry))).toBe(
      toHex(leafHash(new TextEncoder().encode('{"a":"é","z":1}'))),
    );
  });

  it("tells canonical bytes from others", () => {
    const yes = (s: string) => isCanonicalJson(new TextEncoder().encode(s));
    expect(yes('{"a":1,"b":[true,null]}')).toBe(true);
    expect(yes('{"b":1,"a":2}')).toBe(false);
    expect(yes('{"a": 1}')).toBe(false);
    expect(yes('{"a":1.0}')).toBe(false);
    expect(yes('{"a":"\\u0041"}')).toBe(false);
    expect(yes("{")).toBe(false);
    expect(isCanonicalJson(new Uint8Array([0x22, 0xff, 0x22]))).toBe(false);
  });
});
