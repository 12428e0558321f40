import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HallmarkError } from "../../errors/index.js";
import { decodeHashes, encodeHashes, fromBase64, toBase64 } from "./encoding.js";

describe("base64 (RFC 4648 §4, strict)", () => {
  it("round-trips any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        expect(fromBase64(toBase64(bytes))).toEqual(bytes);
      }),
    );
  });

  it("accepts one spelling per byte string", () => {
    expect(fromBase64("AQ==")).toEqual(new Uint8Array([1]));
    for (const bad of ["AQ=", "AQ", "AR==", "A Q==", "AQ==\n", "-_8=", "AQ==AQ=="]) {
      expect(fromBase64(bad)).toBeNull();
    }
  });

  it("decodes proofs of 32-byte hashes only", () => {
    const hashes = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    expect(decodeHashes(encodeHashes(hashes))).toEqual(hashes);
    expect(() => decodeHashes([toBase64(new Uint8Array(31))])).toThrow(HallmarkError);
    expect(() => decodeHashes(["not base64"], "proof")).toThrow(/proof\[0\]/);
  });
});
