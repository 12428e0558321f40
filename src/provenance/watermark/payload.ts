import { randomBytes } from "node:crypto";
import { HallmarkError } from "../../errors/index.js";
import type { WatermarkPayload } from "./types.js";

/** Payload bits: 16-bit issuer key id followed by a 48-bit mark id, most significant first. */
export const PAYLOAD_BITS = 64;
/** CRC-24 (the OpenPGP polynomial, RFC 4880 section 6.1) guarding the payload. */
export const CRC_BITS = 24;
const MARK_ID_RE = /^[0-9a-f]{12}$/;
const PAYLOAD_HEX_RE = /^[0-9a-fA-F]{16}$/;

/** A fresh random 48-bit mark id as 12 lowercase hex digits. */
export function newMarkId(): string {
  return randomBytes(6).toString("hex");
}

/** Checks the payload's ranges; throws `invalid_request_error` when out of range. */
export function validatePayload(payload: WatermarkPayload): void {
  const { issuerKeyId, markId } = payload;
  if (!Number.isInteger(issuerKeyId) || issuerKeyId < 0 || issuerKeyId > 0xffff) {
    throw new HallmarkError("invalid_request_error", "issuerKeyId must be an integer 0..65535");
  }
  if (typeof markId !== "string" || !MARK_ID_RE.test(markId)) {
    throw new HallmarkError("invalid_request_error", "markId must be 12 lowercase hex digits");
  }
}

/**
 * 16 hex digits: issuer key id (4) then mark id (12).
 * @example encodePayloadHex({ issuerKeyId: 1, markId: "0123456789ab" }) // "00010123456789ab"
 */
export function encodePayloadHex(payload: WatermarkPayload): string {
  validatePayload(payload);
  return payload.issuerKeyId.toString(16).padStart(4, "0") + payload.markId;
}

/** Inverse of {@link encodePayloadHex}; throws `invalid_request_error` on anything else. */
export function decodePayloadHex(hex: string): WatermarkPayload {
  if (typeof hex !== "string" || !PAYLOAD_HEX_RE.test(hex)) {
    throw new HallmarkError("invalid_request_error", "payload must be 16 hex digits (64 bits)", {
      param: "payload",
    });
  }
  const lower = hex.toLowerCase();
  return { issuerKeyId: Number.parseInt(lower.slice(0, 4), 16), markId: lower.slice(4) };
}

function payloadBytes(payload: WatermarkPayload): Uint8Array {
  return Buffer.from(encodePayloadHex(payload), "hex");
}

/** CRC-24/OpenPGP: polynomial 0x864CFB, initial value 0xB704CE, no reflection. */
export function crc24(bytes: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of bytes) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/** The 88 information bits (payload then CRC-24), one bit per byte, most significant first. */
export function payloadToInfoBits(payload: WatermarkPayload): Uint8Array {
  const bytes = payloadBytes(payload);
  const crc = crc24(bytes);
  const bits = new Uint8Array(PAYLOAD_BITS + CRC_BITS);
  for (let i = 0; i < PAYLOAD_BITS; i++) bits[i] = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
  for (let i = 0; i < CRC_BITS; i++) bits[PAYLOAD_BITS + i] = (crc >> (CRC_BITS - 1 - i)) & 1;
  return bits;
}

/** The payload when the CRC of decoded information bits checks out, else null. */
export function infoBitsToPayload(bits: Uint8Array): WatermarkPayload | null {
  const bytes = new Uint8Array(PAYLOAD_BITS / 8);
  for (let i = 0; i < PAYLOAD_BITS; i++) bytes[i >> 3]! |= (bits[i]! & 1) << (7 - (i & 7));
  let crc = 0;
  for (let i = 0; i < CRC_BITS; i++) crc = (crc << 1) | (bits[PAYLOAD_BITS + i]! & 1);
  if (crc24(bytes) !== crc) return null;
  return decodePayloadHex(Buffer.from(bytes).toString("hex"));
}
