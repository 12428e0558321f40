import * as asn1js from "asn1js";
import { describe, expect, it } from "vitest";
import { positiveDerInteger } from "./der-integer.js";

describe("positiveDerInteger", () => {
  it("gives a minimal, positive DER INTEGER for every first byte, keeping the rest", () => {
    for (let first = 0; first < 256; first++) {
      for (const second of [0x00, 0x7f, 0x80, 0xff]) {
        const bytes = positiveDerInteger(Uint8Array.from([first, second, 0x12]));
        expect(Array.from(bytes.subarray(1))).toEqual([second, 0x12]);
        const der = new Uint8Array(
          new asn1js.Integer({ valueHex: bytes.slice().buffer }).toBER(false),
        );
        // tag, length 3, then the content exactly as given: nothing to strip or pad.
        expect(Array.from(der.subarray(0, 2))).toEqual([0x02, 3]);
        expect(der[2]).toBeGreaterThanOrEqual(0x40);
        expect(der[2]).toBeLessThan(0x80);
      }
    }
  });

  it("does not change the caller's bytes and refuses an empty input", () => {
    const input = Uint8Array.from([0, 1]);
    positiveDerInteger(input);
    expect(Array.from(input)).toEqual([0, 1]);
    expect(() => positiveDerInteger(new Uint8Array(0))).toThrow(RangeError);
  });
});
