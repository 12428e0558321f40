import { type Document, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { HallmarkError } from "../errors/index.js";

export interface Parsed<T> {
  data: T;
  doc: Document;
  lineCounter: LineCounter;
}

export function lineOf(doc: Document, lineCounter: LineCounter, path: Array<string | number>) {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number] } | undefined;
    if (node?.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

/**
 * Parses YAML and validates it with a zod schema; every mistake is a `config_error` naming the
 * file, the line and what was expected.
 */
export function parseYaml<S extends z.ZodType>(
  text: string,
  source: string,
  schema: S,
  what: string,
): Parsed<z.infer<S>> {
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
  let value: unknown;
  try {
    // The yaml library refuses alias bombs here ("Excessive alias count"): say which file.
    value = doc.toJS();
  } catch (error) {
    throw new HallmarkError("config_error", `${source}: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const path = issue.path as Array<string | number>;
      const line = lineOf(doc, lineCounter, path);
      const where = line === undefined ? source : `${source}:${line}`;
      return `${where}: ${path.join(".") || "(top level)"}: ${issue.message}`;
    });
    throw new HallmarkError("config_error", `Invalid ${what}:\n  ${lines.join("\n  ")}`);
  }
  return { data: parsed.data, doc, lineCounter };
}
