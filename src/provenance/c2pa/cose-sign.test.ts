import { Decoder } from "cbor-x";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  countersignStructure,
  encodeCbor,
  padToSize,
  protectedHeader,
  sigStructure,
} from "./cose-sign.js";

const cbor = new Decoder({ mapsAsObjects: false });
const decode = (bytes: Buffer) => cbor.decode(bytes);

describe("COSE_Sign1 assembly", () => {
  it("encodes byte strings untagged (c2pa-rs cannot parse tag 64)", () => {
    expect(Buffer.from(encodeCbor(new Uint8Array([1, 2]))).toString("hex")).toBe("420102");
  });

  it("puts one certificate as a byte string and several as an array (RFC 9360)", () => {
    const one = decode(Buffer.from(protectedHeader("ES256", [new Uint8Array([7])])));
    expect(one.get(1)).toBe(-7);
    expect(Buffer.from(one.get(33))).toEqual(Buffer.from([7]));
    const two = decode(
      Buffer.from(protectedHeader("PS256", [new Uint8Array([7]), new Uint8Array([8])])),
    );
    expect(two.get(1)).toBe(-37);
    expect(two.get(33)).toHaveLength(2);
  });

  it("builds the RFC 9052 Sig_structure and the sigTst2 CounterSignature structure", () => {
    const p = protectedHeader("ES256", [new Uint8Array([1])]);
    const s = decode(Buffer.from(sigStructure(p, new Uint8Array([9, 9]))));
    expect(s[0]).toBe("Signature1");
    expect(Buffer.from(s[3])).toEqual(Buffer.from([9, 9]));
    const c = decode(Buffer.from(countersignStructure(p, new Uint8Array([5]))));
    expect(c[0]).toBe("CounterSignature");
    expect(Buffer.from(c[3])).toEqual(Buffer.from([0x41, 5]));
  });

  it("pads to exactly the reserved size, whatever the sizes (pad2 where one pad cannot)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 0, max: 70000 }),
        fc.integer({ min: 0, max: 2000 }),
        (certLength, slack, tokenLength) => {
          const p = protectedHeader("ES256", [new Uint8Array(certLength)]);
          const headers: Array<[string, unknown]> = tokenLength
            ? [
                [
                  "sigTst2",
                  new Map([["tstTokens", [new Map([["val", new Uint8Array(tokenLength)]])]]]),
                ],
              ]
            : [];
          const sig = new Uint8Array(64);
          // Every header byte beyond the certificate, token and signature fits in 120 bytes.
          const target = certLength + tokenLength + 64 + 120 + slack;
          const out = padToSize(p, headers, sig, target);
          expect(out.byteLength).toBe(target);
          const decoded = decode(Buffer.from(out));
          expect(decoded.tag).toBe(18);
          expect(decoded.value[2]).toBeNull();
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reaches every size across the CBOR length-prefix boundaries (pad 23→24, 255→256)", () => {
    const p = protectedHeader("ES256", [new Uint8Array(500)]);
    const sig = new Uint8Array(64);
    let smallest = 500;
    while (smallest < 1000) {
      try {
        padToSize(p, [], sig, smallest);
        break;
      } catch {
        smallest++;
      }
    }
    expect(smallest).toBeLessThan(700);
    for (let size = smallest; size < smallest + 400; size++) {
      expect(padToSize(p, [], sig, size).byteLength).toBe(size);
    }
  });

  it("refuses when the signature cannot fit", () => {
    const p = protectedHeader("ES256", [new Uint8Array(2000)]);
    expect(() => padToSize(p, [], new Uint8Array(64), 1000)).toThrow(/does not fit/);
  });
});
