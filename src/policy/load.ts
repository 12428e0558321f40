import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { LineCounter, parseDocument } from "yaml";
import { HallmarkError } from "../errors/index.js";
import { type PolicyFile, policyFileSchema } from "./schema.js";

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
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const { line, col } = lineCounter.linePos(e.pos[0]);
    throw new HallmarkError(
      "config_error",
      `${source}:${line}:${col}: ${e.message.split("\n")[0]}`,
    );
  }
  const parsed = policyFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const node = doc.getIn(issue.path as Array<string | number>, true) as
        | { range?: [number] }
        | undefined;
      const pos = node?.range ? lineCounter.linePos(node.range[0]) : undefined;
      const where = pos ? `${source}:${pos.line}` : source;
      return `${where}: ${issue.path.join(".") || "(top level)"}: ${issue.message}`;
    });
    throw new HallmarkError("config_error", `Invalid policy:\n  ${lines.join("\n  ")}`);
  }
  return { ...parsed.data, hash: createHash("sha256").update(text).digest("hex"), source };
}
