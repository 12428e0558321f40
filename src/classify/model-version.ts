import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

/**
 * Which exact weights a screening model ran with, for the audit row and the runtime's log:
 * `<name>@<first 12 hex digits of the file's SHA-256>` (the text classifier's form). A decision
 * must stay traceable to the model that made it after the model is updated or swapped; 48 bits
 * tell apart any set of versions one deployment will see.
 * @example versionOf("blazeface", bytes) // "blazeface@3f1a9c0b77d2"
 */
export function versionOf(name: string, bytes: Uint8Array): string {
  return versionFromDigest(name, createHash("sha256").update(bytes).digest("hex"));
}

/** `versionOf` for a file whose SHA-256 (hex) the caller has already computed. */
export function versionFromDigest(name: string, sha256: string): string {
  return `${name}@${sha256.slice(0, 12)}`;
}

/** `versionOf` of a file on disk (read once at load; the models are a few MB each). */
export async function fileVersion(name: string, path: string): Promise<string> {
  return versionOf(name, await readFile(path));
}
