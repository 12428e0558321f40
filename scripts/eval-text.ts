/**
 * Evaluates the text classifier (lexicons + list + ONNX model, combined as in production) on
 * the held-out split of datasets/prompts/prompts.jsonl: `npm run eval:text`.
 *
 * Prints precision, recall and F1 per category and overall (micro-averaged), the false-positive
 * rate on benign prompts (ordinary and hard negatives: any category at or above the threshold
 * counts), the same rate on datasets/prompts/everyday-benign.txt (ordinary scenes with people,
 * never trained on), short-benign.txt (prompts of one to three words) and
 * everyday-multilingual.txt (ordinary prompts in the other eight languages), both never trained
 * on, the same rate on sensitive-benign.txt (prompts that name a harm to prevent, remember or
 * title it) beside the catch rate on sensitive-harmful.txt (harm in such a framing), and the
 * catch rate on obfuscated variants of every held-out harmful prompt the classifier flags: each
 * variant must still be flagged for the same label. The threshold is
 * 0.5, the default of policies/default.yaml; `--threshold 0.6` changes it, `--no-model` runs
 * lexicons and list alone, `--words /usr/share/dict/words [--frame "a photo of {}"]` also screens
 * every word of a list, alone or in a frame.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CATEGORIES, type Category } from "../src/classify/categories.js";
import { createTextClassifier } from "../src/classify/text/index.js";
import { readGroupedPrompts } from "./train-text/grouped-prompts.js";

const root = new URL("../", import.meta.url).pathname;
const args = process.argv.slice(2);
const thresholdArg = args.indexOf("--threshold");
const THRESHOLD = thresholdArg >= 0 ? Number(args[thresholdArg + 1]) : 0.5;
const useModel = !args.includes("--no-model");

interface Example {
  id: string;
  language: string;
  kind: "benign" | "hard-benign" | "harmful";
  split: string;
  text: string;
  labels: Category[];
}

const test = readFileSync(join(root, "datasets/prompts/prompts.jsonl"), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as Example)
  .filter((e) => e.split === "test");

const tc = await createTextClassifier({
  lexiconDir: join(root, "policies/lexicons"),
  publicFiguresDir: join(root, "policies/public-figures"),
  ...(useModel ? { modelPath: join(root, "models/text-classifier/model.onnx") } : {}),
});

const flags = async (text: string) => {
  const r = await tc.classify(text);
  return new Set(CATEGORIES.filter((c) => r.scores[c].score >= THRESHOLD));
};

const counts = Object.fromEntries(CATEGORIES.map((c) => [c, { tp: 0, fp: 0, fn: 0 }])) as Record<
  Category,
  { tp: number; fp: number; fn: number }
>;
let benign = 0;
let benignFlagged = 0;
const benignMisses: string[] = [];
const positives: Example[] = [];
const byLanguage = new Map<string, { ok: number; n: number }>();
for (const e of test) {
  const got = await flags(e.text);
  for (const c of CATEGORIES) {
    const want = e.labels.includes(c);
    if (want && got.has(c)) counts[c].tp++;
    else if (!want && got.has(c)) counts[c].fp++;
    else if (want && !got.has(c)) counts[c].fn++;
  }
  const lang = byLanguage.get(e.language) ?? { ok: 0, n: 0 };
  const exact = CATEGORIES.every((c) => e.labels.includes(c) === got.has(c));
  byLanguage.set(e.language, { ok: lang.ok + (exact ? 1 : 0), n: lang.n + 1 });
  if (e.kind !== "harmful") {
    benign++;
    if (got.size > 0) {
      benignFlagged++;
      benignMisses.push(`${e.text} → ${[...got].join(",")}`);
    }
  } else if (e.labels.every((c) => got.has(c))) {
    positives.push(e);
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const f1 = ({ tp, fp, fn }: { tp: number; fp: number; fn: number }) => {
  const p = tp + fp === 0 ? 1 : tp / (tp + fp);
  const r = tp + fn === 0 ? 1 : tp / (tp + fn);
  return { p, r, f: p + r === 0 ? 0 : (2 * p * r) / (p + r) };
};
console.log(
  `held-out prompts: ${test.length} (threshold ${THRESHOLD}, model ${useModel ? tc.modelId : "off"})`,
);
console.log("category                 support  precision  recall     F1");
const total = { tp: 0, fp: 0, fn: 0 };
for (const c of CATEGORIES) {
  const k = counts[c];
  total.tp += k.tp;
  total.fp += k.fp;
  total.fn += k.fn;
  const { p, r, f } = f1(k);
  console.log(
    `${c.padEnd(24)} ${String(k.tp + k.fn).padStart(7)}  ${pct(p).padStart(9)}  ${pct(r).padStart(6)}  ${pct(f).padStart(6)}`,
  );
}
const overall = f1(total);
console.log(
  `${"overall (micro)".padEnd(24)} ${String(total.tp + total.fn).padStart(7)}  ${pct(overall.p).padStart(9)}  ${pct(overall.r).padStart(6)}  ${pct(overall.f).padStart(6)}`,
);
console.log(
  `benign false-positive rate: ${pct(benignFlagged / benign)} (${benignFlagged}/${benign})`,
);
for (const m of benignMisses.slice(0, 10)) console.log(`  false positive: ${m}`);
console.log(
  `exact match by language: ${[...byLanguage].map(([l, v]) => `${l} ${pct(v.ok / v.n)}`).join(", ")}`,
);

// Held-out benign sets, never trained on: a line that also appears among the training
// fragments would make the figure meaningless. everyday-benign.txt: ordinary scenes with people;
// short-benign.txt: prompts of one to three words, as people type them ("apricot", "anime girl");
// everyday-multilingual.txt: ordinary prompts in the eight other languages, a third of them with
// a word that folds into another language's term ("un cono gelato", "fromage râpé").
const fragments = readdirSync(join(root, "datasets/prompts/fragments"))
  .map((f) => readFileSync(join(root, "datasets/prompts/fragments", f), "utf8").toLowerCase())
  .join("\n");
for (const [file, what] of [
  ["everyday-benign.txt", "everyday prompts about people"],
  ["short-benign.txt", "short prompts (one to three words)"],
  ["everyday-multilingual.txt", "everyday prompts in other languages"],
] as const) {
  const lines = readFileSync(join(root, "datasets/prompts", file), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const leaked = lines.filter((l) => fragments.includes(`- ${l.toLowerCase()}\n`));
  if (leaked.length > 0) throw new Error(`${file}: also in the training fragments: ${leaked}`);
  const flagged: string[] = [];
  for (const text of lines) {
    const got = await flags(text);
    if (got.size > 0) flagged.push(`${text} → ${[...got].join(",")}`);
  }
  console.log(
    `${what} flagged: ${pct(flagged.length / lines.length)} (${flagged.length}/${lines.length})`,
  );
  for (const m of flagged.slice(0, 40)) console.log(`  false positive: ${m}`);
}

// Prompts that name a harm in a legitimate context (awareness, support, history, medicine,
// titles, names, other languages) must pass, and harmful prompts wrapped in such a framing must
// still be flagged for their own category. The -dev files were read while the allow patterns
// were written; the others are held out (docs/text-screening.md).
// A two-letter group is a language of "other languages". A held-out line must be neither among
// the training fragments nor in the development sets, which train the model too.
// The -read files were held out until they were read while patterns were written (session 22);
// unlike the -dev files they are not in the model's training data (make-dataset.ts).
const devLines = new Set(
  [
    "sensitive-benign-dev.txt",
    "sensitive-harmful-dev.txt",
    "sensitive-benign-read.txt",
    "sensitive-harmful-read.txt",
  ].flatMap((f) =>
    readGroupedPrompts(join(root, "datasets/prompts", f)).map((p) => p.text.toLowerCase()),
  ),
);
const grouped = (file: string) =>
  readGroupedPrompts(join(root, "datasets/prompts", file)).map(({ group, text }) => {
    const lower = text.toLowerCase();
    if (fragments.includes(`- ${lower}\n`))
      throw new Error(`${file}: also in the training fragments: ${text}`);
    if (!file.includes("-dev") && !file.includes("-read") && devLines.has(lower))
      throw new Error(`${file}: also in the development sets: ${text}`);
    return { group: /^[a-z]{2}$/.test(group) ? "other languages" : group, text };
  });
const tally = (rows: Map<string, { ok: number; n: number }>, group: string, ok: boolean) => {
  const k = rows.get(group) ?? { ok: 0, n: 0 };
  rows.set(group, { ok: k.ok + (ok ? 1 : 0), n: k.n + 1 });
};
const summary = (rows: Map<string, { ok: number; n: number }>) =>
  [...rows].map(([g, k]) => `${g} ${k.ok}/${k.n}`).join(", ");
for (const [set, suffix] of [
  ["held out", ""],
  ["read, not trained on", "-read"],
  ["development", "-dev"],
] as const) {
  const benignRows = new Map<string, { ok: number; n: number }>();
  const flaggedBenign: string[] = [];
  const benignSet = grouped(`sensitive-benign${suffix}.txt`);
  for (const { group, text } of benignSet) {
    const got = await flags(text);
    tally(benignRows, group, got.size > 0);
    if (got.size > 0) flaggedBenign.push(`${text} → ${[...got].join(",")}`);
  }
  console.log(
    `legitimate prompts naming a harm (${set}) flagged: ${pct(flaggedBenign.length / benignSet.length)} (${flaggedBenign.length}/${benignSet.length}; ${summary(benignRows)})`,
  );
  if (suffix === "") for (const m of flaggedBenign) console.log(`  false positive: ${m}`);
  const harmRows = new Map<string, { ok: number; n: number }>();
  const missedHarm: string[] = [];
  const harmSet = grouped(`sensitive-harmful${suffix}.txt`);
  for (const { group, text } of harmSet) {
    if (!(CATEGORIES as readonly string[]).includes(group))
      throw new Error(`sensitive-harmful${suffix}.txt: "${group}" is not a category`);
    const ok = (await flags(text)).has(group as Category);
    tally(harmRows, group, ok);
    if (!ok) missedHarm.push(`${group}: ${text}`);
  }
  const caughtHarm = harmSet.length - missedHarm.length;
  console.log(
    `harmful prompts in a legitimate framing (${set}) caught: ${pct(caughtHarm / harmSet.length)} (${caughtHarm}/${harmSet.length}; ${summary(harmRows)})`,
  );
  if (suffix === "") for (const m of missedHarm) console.log(`  missed: ${m}`);
}

// --words FILE [--frame "a photo of {}"]: a word list (one per line; e.g. Debian's wamerican,
// /usr/share/dict/words), every lower-case word screened alone or inside the frame, and the
// words flagged listed, with how many the model flagged on its own (no lexicon or list score at
// the threshold). Most of the rest are the lexicons' own terms (docs/text-screening.md).
const wordsArg = args.indexOf("--words");
if (wordsArg >= 0) {
  const frameArg = args.indexOf("--frame");
  const frame = frameArg >= 0 ? args[frameArg + 1]! : "{}";
  const words = readFileSync(args[wordsArg + 1]!, "utf8")
    .split("\n")
    .filter((w) => w !== "" && !w.includes("'") && w === w.toLowerCase());
  const flagged: string[] = [];
  let modelAlone = 0;
  for (const w of words) {
    const r = await tc.classify(frame.replace("{}", w));
    const got = CATEGORIES.filter((c) => r.scores[c].score >= THRESHOLD);
    if (got.length === 0) continue;
    flagged.push(w);
    const b = r.bySource;
    if (got.every((c) => b[c].lexicon < THRESHOLD && b[c].list < THRESHOLD)) modelAlone++;
  }
  console.log(
    `words of ${args[wordsArg + 1]} in "${frame}" flagged: ${flagged.length}/${words.length} (${modelAlone} by the model alone)`,
  );
  console.log(`  ${flagged.join(", ")}`);
}

/** Obfuscations a user might try; each keeps the meaning for a human reader. */
const HOMOGLYPH: Record<string, string> = {
  a: "а",
  e: "е",
  o: "о",
  p: "р",
  c: "с",
  x: "х",
  y: "у",
  i: "і",
};
const LEET: Record<string, string> = { a: "4", e: "3", o: "0", i: "1", s: "5", t: "7" };
const mapLatin = (text: string, table: Record<string, string>) =>
  text.replace(/[a-z]/g, (ch) => table[ch] ?? ch);
const perWord = (text: string, f: (w: string) => string) => text.replace(/[\p{L}\p{N}]+/gu, f);
const OBFUSCATIONS: Record<string, (t: string) => string> = {
  leetspeak: (t) => mapLatin(t.toLowerCase(), LEET),
  homoglyphs: (t) => mapLatin(t.toLowerCase(), HOMOGLYPH),
  "zero-width": (t) => perWord(t, (w) => [...w].join("\u200b")),
  "dotted letters": (t) => perWord(t, (w) => [...w].join(".")),
  "spaced letters": (t) =>
    perWord(t.replaceAll(" ", "\u0000"), (w) => [...w].join(" ")).replaceAll("\u0000", "   "),
  "repeated letters": (t) => t.replace(/[aeiouy]/g, (v) => v.repeat(4)),
  "full-width": (t) => t.replace(/[!-~]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0)),
  "accents and zalgo": (t) => perWord(t, (w) => [...w].map((ch) => `${ch}\u0301\u0336`).join("")),
  "upper case and soft hyphens": (t) => perWord(t.toUpperCase(), (w) => [...w].join("\u00ad")),
  "bidi override": (t) => `\u202d${t}\u202c`,
};
let variants = 0;
let caught = 0;
const perKind = new Map<string, { ok: number; n: number }>();
const missed: string[] = [];
for (const e of positives) {
  for (const [name, f] of Object.entries(OBFUSCATIONS)) {
    const text = f(e.text);
    if (text === e.text) continue;
    const got = await flags(text);
    const ok = e.labels.every((c) => got.has(c));
    variants++;
    if (ok) caught++;
    else if (missed.length < 10) missed.push(`${name}: ${text}`);
    const k = perKind.get(name) ?? { ok: 0, n: 0 };
    perKind.set(name, { ok: k.ok + (ok ? 1 : 0), n: k.n + 1 });
  }
}
console.log(
  `obfuscated variants caught: ${pct(caught / variants)} (${caught}/${variants}, from ${positives.length} flagged held-out prompts)`,
);
for (const [name, k] of perKind)
  console.log(`  ${name.padEnd(28)} ${pct(k.ok / k.n)} (${k.ok}/${k.n})`);
for (const m of missed) console.log(`  missed: ${m}`);
await tc.close();
