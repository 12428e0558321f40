import { createHash, createHmac, randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { readOrCreateSecretFile } from "../../config/secret-file.js";
import { HallmarkError } from "../../errors/index.js";

/** Length of a watermark embedding key in bytes (256 bits). */
export const WATERMARK_KEY_BYTES = 32;
/** File name of the key generated on first use inside the data directory. */
export const WATERMARK_KEY_FILE = "watermark.key";

const SECRET = Symbol("watermark-key-secret");

/**
 * The secret embedding key. Its bytes never leave this module in printable form: `toString`,
 * `toJSON` and `util.inspect` show only the fingerprint, so a logged key reveals nothing.
 */
export class WatermarkKey {
  readonly [SECRET]: Uint8Array;
  /** First 16 hex digits of a SHA-256 over the key: safe to log and to compare. */
  readonly fingerprint: string;
  /** Default issuer key id for payloads: the first 16 bits of the fingerprint. */
  readonly issuerKeyId: number;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== WATERMARK_KEY_BYTES) {
      throw new HallmarkError("config_error", `watermark key must be ${WATERMARK_KEY_BYTES} bytes`);
    }
    this[SECRET] = Uint8Array.from(bytes);
    const digest = createHash("sha256").update("hallmark-watermark-key\0").update(bytes);
    this.fingerprint = digest.digest("hex").slice(0, 16);
    this.issuerKeyId = Number.parseInt(this.fingerprint.slice(0, 4), 16);
  }

  toString(): string {
    return `WatermarkKey(${this.fingerprint})`;
  }

  toJSON(): { fingerprint: string } {
    return { fingerprint: this.fingerprint };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** A fresh random key (for tests and first use). */
export function generateWatermarkKey(): WatermarkKey {
  return new WatermarkKey(randomBytes(WATERMARK_KEY_BYTES));
}

/** Parses key file contents: 64 hex digits (whitespace ignored) or 32 raw bytes. */
export function parseWatermarkKey(contents: Uint8Array): WatermarkKey {
  const text = Buffer.from(contents).toString("latin1").replace(/\s+/g, "");
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new WatermarkKey(Buffer.from(text, "hex"));
  if (contents.length === WATERMARK_KEY_BYTES) return new WatermarkKey(contents);
  throw new HallmarkError(
    "config_error",
    "watermark key file must hold 64 hex digits or 32 raw bytes",
  );
}

/**
 * Reads the key from `keyFile`, or from `<dataDir>/watermark.key`, creating that file with a
 * fresh random key (mode 0600, exclusive create, so two processes never write two keys) when
 * it does not exist. An explicit `keyFile` that is missing is an error, never replaced.
 * @example const key = await loadWatermarkKey({ dataDir: "./data" });
 */
export async function loadWatermarkKey(options: {
  keyFile?: string;
  dataDir: string;
}): Promise<WatermarkKey> {
  return parseWatermarkKey(
    await readOrCreateSecretFile({
      dataDir: options.dataDir,
      name: WATERMARK_KEY_FILE,
      configured: options.keyFile,
      what: "watermark key",
      fresh: () => `${randomBytes(WATERMARK_KEY_BYTES).toString("hex")}\n`,
    }),
  );
}

/** The key's bytes, for this folder's keyed pattern derivation only. */
export function keyBytes(key: WatermarkKey): Uint8Array {
  return key[SECRET];
}

/**
 * Deterministic keyed pseudo-random stream: HMAC-SHA256(key, label || counter) blocks.
 * Used to derive the tile layout once per watermarker, so its speed does not matter.
 */
export function keyedStream(key: WatermarkKey, label: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let counter = 0, pos = 0; pos < length; counter++) {
    const block = createHmac("sha256", keyBytes(key)).update(`${label}\0${counter}`).digest();
    out.set(block.subarray(0, Math.min(block.length, length - pos)), pos);
    pos += block.length;
  }
  return out;
}
