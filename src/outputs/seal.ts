import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { HallmarkError } from "../errors/index.js";

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM (NIST SP 800-38D) with a random 96-bit IV: returns iv ‖ ciphertext ‖ tag.
 * `aad` binds the ciphertext to where it is stored (a row moved elsewhere fails to open).
 *
 * @example const sealed = seal(key, Buffer.from("gen-id/0"), bytes)
 */
export function seal(key: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Opens what `seal` made; a wrong key, wrong `aad` or altered bytes throw `internal_error`. */
export function unseal(key: Buffer, aad: Buffer, sealed: Buffer): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) {
    throw new HallmarkError("internal_error", "sealed output is truncated");
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch (error) {
    throw new HallmarkError("internal_error", "a stored output could not be decrypted", {
      cause: error,
    });
  }
}
