import { chmod, mkdir, open, readFile } from "node:fs/promises";
import path from "node:path";
import { HallmarkError } from "../../errors/index.js";
import {
  createNoteSigner,
  createNoteVerifier,
  generateNoteKey,
  type NoteSigner,
  type NoteVerifier,
  verifierKeyOf,
} from "../tlog/index.js";

/** File name of the checkpoint key under the data folder. */
export const LOG_KEY_FILE = "audit-log.key";

export interface LoadLogKeyOptions {
  /** The data folder; the key lives at `<dataDir>/audit-log.key` unless `keyFile` is given. */
  dataDir: string;
  /** An explicit key file (e.g. a mounted secret shared by several gateway processes). */
  keyFile?: string;
  /** The log's origin: the key's name. A new key is made with it; an existing one must match. */
  origin: string;
  /** Create the key when it does not exist (default true; false for read-only uses). */
  create?: boolean;
}

/** The checkpoint key: a signer (secret stays inside), its verifier and the public vkey. */
export interface LogKey {
  signer: NoteSigner;
  verifier: NoteVerifier;
  /** The verifier key string to publish to auditors (`<name>+<id>+<base64>`). */
  vkey: string;
  /** Where the signer key file is. */
  file: string;
  /** Whether this call created it. */
  created: boolean;
}

/** Reads a key file another process has just created, waiting briefly for its contents. */
async function readWhenWritten(file: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const text = (await readFile(file, "utf8")).trim();
    if (text !== "" || attempt >= 50) return text;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Loads the log's Ed25519 checkpoint key, creating `<dataDir>/audit-log.key` (mode 0600, the
 * signer key string of docs/audit-log.md §5 and a newline) the first time. Creation is
 * exclusive, so processes starting together end up with one key. The secret is never
 * returned or logged; only `vkey` is meant to leave the process.
 * Throws `HallmarkError("config_error")` when the file is malformed or named for another origin.
 *
 * @example const { signer, verifier, vkey } = await loadLogKey({ dataDir: "./data", origin });
 */
export async function loadLogKey(options: LoadLogKeyOptions): Promise<LogKey> {
  const file = path.resolve(options.keyFile ?? path.join(options.dataDir, LOG_KEY_FILE));
  let created = false;
  let skey: string;
  try {
    skey = (await readFile(file, "utf8")).trim();
  } catch (error) {
    const absent = (error as NodeJS.ErrnoException).code === "ENOENT";
    if (!absent || options.keyFile !== undefined || options.create === false) {
      throw new HallmarkError("config_error", `cannot read the audit log key ${file}`, {
        param: "keyFile",
        cause: error,
      });
    }
    skey = generateNoteKey(options.origin).skey;
    await mkdir(path.dirname(file), { recursive: true });
    try {
      const handle = await open(file, "wx", 0o600);
      try {
        await handle.writeFile(`${skey}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await chmod(file, 0o600); // against a umask that would widen it
      created = true;
    } catch (raced) {
      if ((raced as NodeJS.ErrnoException).code !== "EEXIST") throw raced;
      skey = await readWhenWritten(file); // another process made it first
    }
  }
  const signer = createNoteSigner(skey);
  if (signer.name !== options.origin) {
    throw new HallmarkError(
      "config_error",
      `the audit log key ${file} is for origin ${JSON.stringify(signer.name)}, not ${JSON.stringify(options.origin)}`,
      { param: "origin" },
    );
  }
  const vkey = verifierKeyOf(skey);
  return { signer, verifier: createNoteVerifier(vkey), vkey, file, created };
}
