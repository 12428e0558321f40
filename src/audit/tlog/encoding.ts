import { HallmarkError } from "../../errors/index.js";
import { HASH_SIZE } from "./hash.js";

/**
 * Standard base64 with padding (RFC 4648 §4, https://www.rfc-editor.org/rfc/rfc4648#section-4),
 * as signed notes, checkpoints and Hallmark's proof responses use it. Decoding is strict:
 * one input decodes to one byte string and back, so a signed text has one spelling.
 */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Base64 (standard alphabet, padded) of bytes. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Bytes of canonical base64, or null for anything else (bad alphabet, padding, spare bits). */
export function fromBase64(text: string): Uint8Array | null {
  if (!BASE64.test(text)) return null;
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  return toBase64(bytes) === text ? bytes : null;
}

/** A proof (or any list of hashes) as base64 strings, for JSON responses. */
export function encodeHashes(hashes: readonly Uint8Array[]): string[] {
  return hashes.map(toBase64);
}

/**
 * A proof from base64 strings. Throws `HallmarkError("audit_verification_failed")` with
 * `param` unless every element is canonical base64 of exactly 32 bytes.
 */
export function decodeHashes(encoded: readonly string[], param = "hashes"): Uint8Array[] {
  return encoded.map((text, i) => {
    const bytes = typeof text === "string" ? fromBase64(text) : null;
    if (bytes === null || bytes.length !== HASH_SIZE) {
      throw new HallmarkError(
        "audit_verification_failed",
        `${param}[${i}] is not base64 of a ${HASH_SIZE}-byte hash`,
        { param, details: { reason: "malformed_hash", position: i } },
      );
    }
    return bytes;
  });
}
