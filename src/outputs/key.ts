import { createHash, randomBytes } from "node:crypto";
import { readOrCreateSecretFile } from "../config/secret-file.js";
import { HallmarkError } from "../errors/index.js";

/** The output key's file under the data folder when no file is configured. */
export const OUTPUT_KEY_FILE = "outputs.key";
const KEY_BYTES = 32;

/** The AES-256-GCM key that seals stored outputs, and its fingerprint (stored with each row). */
export interface OutputKey {
  readonly key: Buffer;
  /** First 16 hex digits of SHA-256(key): names the key in rows without revealing it. */
  readonly keyId: string;
}

/** Parses 64 hex digits (optionally with whitespace) or 32 raw bytes. */
export function parseOutputKey(contents: Uint8Array): OutputKey {
  const text = Buffer.from(contents).toString("latin1").replace(/\s+/g, "");
  const key = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, "hex")
    : contents.length === KEY_BYTES
      ? Buffer.from(contents)
      : null;
  if (!key) {
    throw new HallmarkError("config_error", "output key file must hold 64 hex digits or 32 bytes");
  }
  return { key, keyId: createHash("sha256").update(key).digest("hex").slice(0, 16) };
}

/**
 * Reads the output key from `keyFile`, or from `<dataDir>/outputs.key`, creating that file with a
 * fresh random key (mode 0600, exclusive create so that two processes never write two keys) when
 * it does not exist. A configured `keyFile` that is missing is an error, never replaced: outputs
 * sealed under it would become unreadable.
 *
 * @example const { keyId } = await loadOutputKey({ dataDir: "./data" });
 */
export async function loadOutputKey(options: {
  dataDir: string;
  keyFile?: string;
}): Promise<OutputKey> {
  return parseOutputKey(
    await readOrCreateSecretFile({
      dataDir: options.dataDir,
      name: OUTPUT_KEY_FILE,
      configured: options.keyFile,
      what: "output key",
      fresh: () => `${randomBytes(KEY_BYTES).toString("hex")}\n`,
    }),
  );
}
