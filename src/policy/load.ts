import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { HallmarkError } from "../errors/index.js";
import { type PolicyFile, policyFileSchema } from "./schema.js";
import { parseYaml } from "./yaml.js";

/**
 * A loaded policy: its content and a SHA-256 recorded with decisions. A policy file's hash is
 * over the file's bytes; a tenant's effective policy (base + override) has the SHA-256 of the
 * canonical (RFC 8785) JSON of the merged policy, and names its base and version.
 */
export interface Policy extends PolicyFile {
  hash: string;
  source: string;
  /** Set on a tenant's effective policy: the base it was merged into and the version. */
  tenant?: { id: string; name: string; version: number; base: { id: string; hash: string } };
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

/** The policy's content without what loading added (hash, source, tenant). */
export function policyContent(policy: Policy): PolicyFile {
  const { hash: _h, source: _s, tenant: _t, ...content } = policy;
  return content;
}
