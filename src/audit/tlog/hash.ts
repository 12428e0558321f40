import { createHash, timingSafeEqual } from "node:crypto";

/**
 * RFC 6962 / RFC 9162 hashing (https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1):
 * SHA-256 with a one-byte domain separator so that a `leaf hash` can never equal a
 * `node hash` (second-preimage resistance).
 */

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/**
 * The `leaf hash` of an entry: SHA-256(0x00 || data).
 *
 * @example leafHash(new Uint8Array()) // 6e340b9c…a01d
 */
export function leafHash(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(LEAF_PREFIX).update(data).digest());
}

/** The hash of an interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash("sha256").update(NODE_PREFIX).update(left).update(right).digest(),
  );
}

/** MTH({}) = SHA-256 of the empty string, the root hash of the empty tree. */
export function emptyRoot(): Uint8Array {
  return new Uint8Array(createHash("sha256").digest());
}

/** Whether two hashes are equal, in time independent of where they differ. */
export function hashEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Lower-case hex of a hash (for logs, reports and test vectors). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Bytes from hex; throws `TypeError` on odd length or non-hex characters. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`not hex: ${JSON.stringify(hex.slice(0, 80))}`);
  }
  return new Uint8Array(Buffer.from(hex, "hex"));
}
