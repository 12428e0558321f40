import { createHash, randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { mkdir, open, readFile } from "node:fs/promises";
import path from "node:path";
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
  const file = options.keyFile ?? path.join(options.dataDir, OUTPUT_KEY_FILE);
  try {
    return parseOutputKey(await readFile(file));
  } catch (error) {
    if (error instanceof HallmarkError) throw error;
    if (options.keyFile !== undefined || (error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new HallmarkError("config_error", `cannot read the output key file ${file}`, {
        cause: error,
      });
    }
  }
  await mkdir(options.dataDir, { recursive: true });
  const key = randomBytes(KEY_BYTES);
  try {
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;
    const handle = await open(file, flags, 0o600);
    try {
      await handle.writeFile(`${key.toString("hex")}\n`);
    } finally {
      await handle.close();
    }
    return parseOutputKey(key);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      return parseOutputKey(await readFile(file));
    }
    throw new HallmarkError("config_error", "cannot create the output key file", { cause: error });
  }
}
