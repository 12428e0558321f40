import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isHallmarkError } from "../../errors/index.js";
import {
  crc24,
  decodePayloadHex,
  encodePayloadHex,
  infoBitsToPayload,
  newMarkId,
  payloadToInfoBits,
} from "./payload.js";

describe("payload", () => {
  it("computes the CRC-24/OpenPGP check value", () => {
    // Published check value of CRC-24/OPENPGP over the ASCII digits 1..9.
    expect(crc24(new TextEncoder().encode("123456789"))).toBe(0x21cf02);
  });

  it("round-trips hex and information bits", () => {
    const payload = { issuerKeyId: 0xbeef, markId: "0123456789ab" };
    expect(encodePayloadHex(payload)).toBe("beef0123456789ab");
    expect(decodePayloadHex("BEEF0123456789AB")).toEqual(payload);
    expect(infoBitsToPayload(payloadToInfoBits(payload))).toEqual(payload);
  });

  it("rejects a word whose CRC does not match", () => {
    const bits = payloadToInfoBits({ issuerKeyId: 1, markId: newMarkId() });
    bits[5] = bits[5]! ^ 1;
    expect(infoBitsToPayload(bits)).toBeNull();
  });

  it("makes random 48-bit mark ids", () => {
    const ids = new Set(Array.from({ length: 50 }, newMarkId));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
  });

  it("parses any string safely: valid 16-hex payloads round-trip, the rest is a typed error", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (text) => {
        try {
          const payload = decodePayloadHex(text);
          expect(encodePayloadHex(payload)).toBe(text.toLowerCase());
        } catch (error) {
          expect(isHallmarkError(error) && error.code).toBe("invalid_request_error");
        }
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        (id, bytes) => {
          const payload = { issuerKeyId: id, markId: Buffer.from(bytes).toString("hex") };
          expect(decodePayloadHex(encodePayloadHex(payload))).toEqual(payload);
        },
      ),
    );
  });

  it("rejects out-of-range fields", () => {
    expect(() => encodePayloadHex({ issuerKeyId: 70000, markId: "0123456789ab" })).toThrow();
    expect(() => encodePayloadHex({ issuerKeyId: 1, markId: "xyz" })).toThrow();
  });
});
