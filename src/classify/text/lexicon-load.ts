import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parse } from "yaml";
import type { z } from "zod";
import { HallmarkError } from "../../errors/index.js";
import type { Category } from "../categories.js";
import {
  accentedLetters,
  addAllow,
  addPattern,
  addTerm,
  type CompiledLexicon,
  type TermRef,
} from "./lexicon-match.js";
import {
  emojiFileSchema,
  type LexiconFile,
  lexiconFileSchema,
  type PublicFiguresFile,
  publicFiguresFileSchema,
} from "./lexicon-schema.js";
import type { Normaliser } from "./normalise.js";

/** The name of the emoji table at the root of the lexicon folder. */
export const EMOJI_FILE = "emoji.yaml";

/** Every *.yaml file under `dir`, sorted, so that loading is deterministic. */
export function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".yaml") || name.endsWith(".yml")) out.push(path);
    }
  };
  walk(dir);
  return out;
}

/** Reads and validates one YAML file; any problem is a `config_error` naming the file. */
export function readYaml<T extends z.ZodType>(path: string, schema: T): z.infer<T> {
  let data: unknown;
  try {
    data = parse(readFileSync(path, "utf8"));
  } catch (cause) {
    throw new HallmarkError("config_error", `cannot read ${path}: ${String(cause)}`, { cause });
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new HallmarkError("config_error", `invalid ${path}: ${issues}`);
  }
  return result.data;
}

/** Emoji that stand for words; an absent file means none. */
export function loadEmoji(lexiconDir: string): Map<string, string> {
  const path = join(lexiconDir, EMOJI_FILE);
  try {
    statSync(path);
  } catch {
    return new Map();
  }
  const file = readYaml(path, emojiFileSchema);
  return new Map(Object.entries(file.emoji).map(([k, v]) => [k.replace(/\uFE0F/g, ""), v]));
}

/** Loads every lexicon file under `lexiconDir` into `lex`; returns how many files were read. */
export function loadLexicons(lex: CompiledLexicon, lexiconDir: string, normalise: Normaliser) {
  const files = yamlFiles(lexiconDir).filter((f) => relative(lexiconDir, f) !== EMOJI_FILE);
  if (files.length === 0) {
    throw new HallmarkError("config_error", `no lexicon files under ${lexiconDir}`);
  }
  for (const path of files) addLexiconFile(lex, readYaml(path, lexiconFileSchema), normalise, path);
  return files.length;
}

function addLexiconFile(
  lex: CompiledLexicon,
  file: LexiconFile,
  normalise: Normaliser,
  path: string,
) {
  const add = (
    entry: LexiconFile["terms"][number],
    ref: Omit<TermRef, "term" | "weight">,
    w: number,
  ) => {
    const term = typeof entry === "string" ? entry : entry.term;
    const weight = typeof entry === "string" ? w : (entry.weight ?? w);
    const exact = typeof entry !== "string" && entry.accents === "exact";
    const full = { ...ref, term, weight, ...(exact ? { accents: accentedLetters(term) } : {}) };
    if (!addTerm(lex, term, full, normalise)) {
      throw new HallmarkError("config_error", `${path}: term "${term}" is empty or too short`);
    }
  };
  const base = { category: file.category, source: "lexicon" as const };
  for (const entry of file.terms) add(entry, base, file.weight);
  for (const p of file.patterns) {
    const ref = { ...base, term: p.name ?? `/${p.pattern}/`, weight: p.weight ?? file.weight };
    addPattern(lex, ref, p.pattern);
  }
  for (const source of file.allow) addAllow(lex, file.category, source);
  for (const rule of file.cooccurrence) {
    const index = lex.rules.length;
    lex.rules.push({
      category: file.category,
      when: rule.when,
      min: rule.min,
      weight: rule.weight,
    });
    const ref = { ...base, rule: index };
    for (const entry of rule.terms) add(entry, ref, rule.weight);
    for (const p of rule.patterns) {
      const pref = { ...ref, term: p.name ?? `/${p.pattern}/`, weight: p.weight ?? rule.weight };
      addPattern(lex, pref, p.pattern);
    }
  }
}

/** Full names score this much; surnames and nicknames less, as they are more often ambiguous. */
const NAME_WEIGHT = 0.95;
const ALIAS_WEIGHT = 0.7;

/** Loads the public-figure lists; returns the people by id. */
export function loadPublicFigures(lex: CompiledLexicon, dir: string, normalise: Normaliser) {
  const people = new Map<string, PublicFiguresFile["people"][number]>();
  const category: Category = "public-figure";
  for (const path of yamlFiles(dir)) {
    const file = readYaml(path, publicFiguresFileSchema);
    for (const source of file.allow) addAllow(lex, category, source);
    for (const person of file.people) {
      if (people.has(person.id)) {
        throw new HallmarkError("config_error", `${path}: duplicate person id ${person.id}`);
      }
      people.set(person.id, person);
      const ref = { category, term: person.name, source: "list" as const };
      for (const name of person.names)
        addTerm(lex, name, { ...ref, weight: NAME_WEIGHT }, normalise);
      for (const alias of person.aliases) {
        addTerm(lex, alias, { ...ref, weight: ALIAS_WEIGHT }, normalise);
      }
    }
  }
  return people;
}
