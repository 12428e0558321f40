import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { link, mkdir, open, readFile, unlink } from "node:fs/promises";
import path from "node:path";
import { HallmarkError } from "../errors/index.js";

export interface SecretFileOptions {
  /** The data folder, where the secret is kept unless a file is configured. */
  dataDir: string;
  /** Its file name under the data folder (e.g. `watermark.key`). */
  name: string;
  /** A configured file: it must exist and is never replaced. */
  configured?: string;
  /** What it is, for error messages ("watermark key"). */
  what: string;
  /** The content of a new secret (called only when the file is created). */
  fresh: () => string;
}

/**
 * The raw content of a secret file: `configured` when set (missing is a `config_error`: data
 * sealed or signed under it would be orphaned by a replacement), otherwise `<dataDir>/<name>`,
 * created with `fresh()` when absent: mode 0600, published atomically and only if absent, so two
 * processes starting together never write two secrets (the one that loses the race reads the
 * winner's, whole).
 *
 * @example const bytes = await readOrCreateSecretFile({ dataDir, name: "outputs.key",
 *   what: "output key", fresh: () => `${randomBytes(32).toString("hex")}\n` });
 */
export async function readOrCreateSecretFile(options: SecretFileOptions): Promise<Buffer> {
  const file = options.configured ?? path.join(options.dataDir, options.name);
  try {
    return await readFile(file);
  } catch (error) {
    if (options.configured !== undefined || (error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new HallmarkError("config_error", `cannot read the ${options.what} file ${file}`, {
        cause: error,
      });
    }
  }
  await mkdir(options.dataDir, { recursive: true });
  // Written to a private temporary file, then published with link(), which fails when the name
  // exists: a process that loses the race never reads a half-written secret.
  const content = options.fresh();
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;
    const handle = await open(temporary, flags, 0o600);
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    await link(temporary, file);
    return Buffer.from(content);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return readFile(file);
    throw new HallmarkError("config_error", `cannot create the ${options.what} file ${file}`, {
      cause: error,
    });
  } finally {
    await unlink(temporary).catch(() => {});
  }
}
