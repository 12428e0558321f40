import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { HallmarkError } from "../errors/index.js";
import { type PolicyFile, policyFileSchema } from "./schema.js";
import { parseYaml } from "./yaml.js";

/** A loaded policy: its content and the SHA-256 of the file's bytes, recorded with decisions. */
export interface Policy extends PolicyFile {
  hash: string;
  source: string;
}

/**
 * Parses and validates a policy file. Mistakes are reported as `config_error` with the file,
 * line and what was expected.
 */
export async function loadPolicyFile(file: string): Promise<Policy> {
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new HallmarkError(
      "config_error",
      `${file}: cannot read policy file (${e.code ?? e.message})`,
    );
  });
  return parsePolicy(text, file);
}

export function parsePolicy(text: string, source: string): Policy {
  const { data } = parseYaml(text, source, policyFileSchema, "policy");
  return { ...data, hash: createHash("sha256").update(text).digest("hex"), source };
}
