/**
 * Builds datasets/prompts/prompts.jsonl from the hand-written fragments in
 * datasets/prompts/fragments/<language>.yaml: every core phrase with every style of its
 * language. The held-out split is chosen per core phrase (a hash of language and phrase), so no
 * phrase of the test split is ever seen in training, whatever style it wears.
 *
 * Run: npx tsx scripts/train-text/make-dataset.ts (deterministic; no randomness).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { CATEGORIES, type Category } from "../../src/classify/categories.js";
import { fnv1a } from "../../src/classify/text/features.js";
import { readGroupedPrompts } from "./grouped-prompts.js";

const root = new URL("../../", import.meta.url).pathname;
const fragmentsDir = join(root, "datasets/prompts/fragments");
const outPath = join(root, "datasets/prompts/prompts.jsonl");

const fragmentsSchema = z.strictObject({
  styles: z.array(z.string()).min(1),
  benign: z.array(z.string().min(1)),
  hard_benign: z.array(z.string().min(1)),
  harmful: z.partialRecord(z.enum(CATEGORIES), z.array(z.string().min(1))),
});

const PARENT: Partial<Record<Category, Category>> = {
  "sexual/minors": "sexual",
  "violence/graphic": "violence",
  "hate/threatening": "hate",
  "illicit/violent": "illicit",
};

/** One in five core phrases is held out. */
export function isHeldOut(language: string, core: string): boolean {
  return fnv1a(`${language}\u0000${core}`) % 5 === 0;
}

export interface Example {
  id: string;
  language: string;
  kind: "benign" | "hard-benign" | "harmful";
  split: "train" | "test";
  text: string;
  labels: Category[];
}

const examples: Example[] = [];
for (const file of readdirSync(fragmentsDir).sort()) {
  if (!file.endsWith(".yaml")) continue;
  const language = file.replace(/\.yaml$/, "");
  const f = fragmentsSchema.parse(parse(readFileSync(join(fragmentsDir, file), "utf8")));
  const add = (core: string, kind: Example["kind"], labels: Category[]) => {
    const split = isHeldOut(language, core) ? "test" : "train";
    f.styles.forEach((style, s) => {
      examples.push({
        id: `${language}-${fnv1a(core).toString(16)}-${s}`,
        language,
        kind,
        split,
        text: `${core}${style}`,
        labels,
      });
    });
  };
  for (const core of f.benign) add(core, "benign", []);
  for (const core of f.hard_benign) add(core, "hard-benign", []);
  for (const [category, cores] of Object.entries(f.harmful) as Array<[Category, string[]]>) {
    const parent = PARENT[category];
    const labels = parent === undefined ? [category] : [category, parent];
    for (const core of cores) add(core, "harmful", labels);
  }
}
// The development sets of prompts that name a harm in a legitimate context, and of harm wrapped
// in such a framing (datasets/prompts/sensitive-*-dev.txt), train the model as written, without
// styles and never in the test split: the model learns that a frame ("an awareness poster", "a
// memorial") neither makes a prompt harmful nor excuses the harm it asks for. The held-out sets
// (sensitive-benign.txt, sensitive-harmful.txt) are never read here.
const sensitive = (file: string) => readGroupedPrompts(join(root, "datasets/prompts", file));
for (const { group, text } of sensitive("sensitive-benign-dev.txt")) {
  const language = /^[a-z]{2}$/.test(group) ? group : "en";
  const id = `sensitive-${fnv1a(text).toString(16)}`;
  examples.push({ id, language, kind: "hard-benign", split: "train", text, labels: [] });
}
for (const { group, text } of sensitive("sensitive-harmful-dev.txt")) {
  const category = CATEGORIES.find((c) => c === group);
  if (category === undefined)
    throw new Error(`sensitive-harmful-dev.txt: "${group}" is not a category`);
  const parent = PARENT[category];
  const labels = parent === undefined ? [category] : [category, parent];
  const id = `sensitive-${fnv1a(text).toString(16)}`;
  examples.push({ id, language: "en", kind: "harmful", split: "train", text, labels });
}
writeFileSync(outPath, `${examples.map((e) => JSON.stringify(e)).join("\n")}\n`);
const test = examples.filter((e) => e.split === "test").length;
console.log(`wrote ${examples.length} prompts (${test} held out) to ${outPath}`);
