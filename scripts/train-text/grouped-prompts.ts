import { readFileSync } from "node:fs";

/**
 * Reads a prompt set of datasets/prompts/ written one prompt per line, in groups: a comment
 * line of at most 40 characters names the group of the lines after it ("# awareness",
 * "# self-harm", "# es"); longer comment lines are notes. Used by make-dataset.ts (the
 * development sets train the model) and by scripts/eval-text.ts (every set is scored).
 */
export function readGroupedPrompts(path: string): Array<{ group: string; text: string }> {
  const out: Array<{ group: string; text: string }> = [];
  let group = "";
  for (const raw of readFileSync(path, "utf8").split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const name = line.slice(1).trim();
      if (name.length <= 40) group = name;
      continue;
    }
    out.push({ group, text: line });
  }
  return out;
}
