import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { HallmarkError } from "../../errors/index.js";
import { fromBase64, toBase64 } from "./encoding.js";

/**
 * Ed25519 keys for signed notes (c2sp.org/signed-note, https://c2sp.org/signed-note), in the
 * string formats of Go's golang.org/x/mod/sumdb/note:
 * verifier key `<name>+<key ID hex>+<base64(0x01 || public key)>`,
 * signer key `PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 || seed)>`.
 */

/** Signature type identifier byte of Ed25519 in signed notes. */
export const ED25519_SIGNATURE_TYPE = 0x01;

// DER headers that turn a raw 32-byte Ed25519 seed / public key into PKCS#8 / SPKI (RFC 8410).
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

/** Signs note texts with one key. */
export interface NoteSigner {
  /** The key name, as written in signature lines. */
  readonly name: string;
  /** The uint32 key ID. */
  readonly keyId: number;
  /** The raw signature (without the key ID) of the message. */
  sign(message: Uint8Array): Uint8Array;
}

/** Verifies note signatures by one key. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * Whether `name` may name a key: non-empty, no Unicode white space, no `+`
 * (and, for signed notes, no control characters).
 */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\p{Cc}]/u.test(name) && !/\p{Cs}/u.test(name);
}

/** key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4], big-endian. */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash("sha256")
    .update(name, "utf8")
    .update(new Uint8Array([0x0a, ED25519_SIGNATURE_TYPE]))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

const hex8 = (id: number): string => id.toString(16).padStart(8, "0");

function keyError(message: string, param: string): HallmarkError {
  return new HallmarkError("config_error", message, { param });
}

function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, seed]),
    format: "der",
    type: "pkcs8",
  });
}

function rawPublicKey(key: KeyObject): Uint8Array {
  return new Uint8Array(createPublicKey(key).export({ format: "der", type: "spki" }).subarray(12));
}

/** The verifier key string for a name and raw 32-byte Ed25519 public key. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw keyError(`invalid key name ${JSON.stringify(name)}`, "name");
  if (publicKey.length !== 32) throw keyError("an Ed25519 public key has 32 bytes", "publicKey");
  const key = new Uint8Array([ED25519_SIGNATURE_TYPE, ...publicKey]);
  return `${name}+${hex8(noteKeyId(name, publicKey))}+${toBase64(key)}`;
}

/**
 * A new Ed25519 key pair named `name` (for a checkpoint key, the log's origin).
 * Keep `skey` secret (configuration); publish `vkey` to auditors.
 *
 * @example const { skey, vkey } = generateNoteKey("example.com/hallmark/audit");
 */
export function generateNoteKey(name: string): { skey: string; vkey: string } {
  if (!isValidKeyName(name)) throw keyError(`invalid key name ${JSON.stringify(name)}`, "name");
  const { privateKey } = generateKeyPairSync("ed25519");
  const seed = privateKey.export({ format: "der", type: "pkcs8" }).subarray(16);
  const vkey = formatVerifierKey(name, rawPublicKey(privateKey));
  const [, id] = vkey.split("+");
  const skeyData = toBase64(new Uint8Array([ED25519_SIGNATURE_TYPE, ...seed]));
  return { skey: `PRIVATE+KEY+${name}+${id}+${skeyData}`, vkey };
}

/** Splits `<name>+<8 hex>+<base64 key>`; the key data may itself contain `+`. */
function splitKey(text: string, param: string): { name: string; keyId: number; key: Uint8Array } {
  const first = text.indexOf("+");
  const second = first < 0 ? -1 : text.indexOf("+", first + 1);
  const name = text.slice(0, first);
  const id = text.slice(first + 1, second);
  const key = second < 0 ? null : fromBase64(text.slice(second + 1));
  if (second < 0 || !isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(id) || key === null) {
    throw keyError(`malformed ${param}`, param);
  }
  if (key.length !== 33 || key[0] !== ED25519_SIGNATURE_TYPE) {
    throw keyError(`${param} is not an Ed25519 note key`, param);
  }
  return { name, keyId: Number.parseInt(id, 16), key: key.subarray(1) };
}

/**
 * A `NoteVerifier` from a verifier key string. Throws `HallmarkError("config_error")`
 * (param `vkey`) when malformed, not Ed25519, or the key ID does not match the key.
 */
export function createNoteVerifier(vkey: string): NoteVerifier {
  const { name, keyId, key } = splitKey(vkey, "vkey");
  if (noteKeyId(name, key) !== keyId) throw keyError("vkey key ID does not match its key", "vkey");
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_ED25519, key]),
    format: "der",
    type: "spki",
  });
  return {
    name,
    keyId,
    verify(message, signature) {
      if (signature.length !== 64) return false;
      return verify(null, message, publicKey, signature);
    },
  };
}

/**
 * A `NoteSigner` from a signer key string. Throws `HallmarkError("config_error")`
 * (param `skey`) when malformed or the key ID does not match the derived public key.
 */
export function createNoteSigner(skey: string): NoteSigner {
  if (!skey.startsWith("PRIVATE+KEY+")) throw keyError("malformed skey", "skey");
  const { name, keyId, key: seed } = splitKey(skey.slice("PRIVATE+KEY+".length), "skey");
  const privateKey = privateKeyFromSeed(seed);
  if (noteKeyId(name, rawPublicKey(privateKey)) !== keyId) {
    throw keyError("skey key ID does not match its key", "skey");
  }
  return {
    name,
    keyId,
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  };
}

/** The verifier key string that matches a signer key string (to publish it). */
export function verifierKeyOf(skey: string): string {
  const signer = createNoteSigner(skey);
  const { key: seed } = splitKey(skey.slice("PRIVATE+KEY+".length), "skey");
  return formatVerifierKey(signer.name, rawPublicKey(privateKeyFromSeed(seed)));
}
