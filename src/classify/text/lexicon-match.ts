import type { Category } from "../categories.js";
import { foldPatternSource, type Normaliser } from "./normalise.js";

/**
 * Lexicon matching over normalised text. Terms are looked up by whole words (a hash lookup per
 * word n-gram, so the cost grows with the prompt, not with the size of the lexicons); Chinese
 * and Japanese terms by substring inside CJK runs; patterns and allow-patterns are regular
 * expressions. Letters repeated in a row are squeezed on both sides ("kiiill" finds "kill"), and
 * then the runs decide (`mayMatchForm`): a word may repeat a letter more often than the term
 * only where it was stretched (three or more in a row), and less often only in a long word
 * (a misspelling). Squeezing alone matched "vitamin K" to "kkk", "Malcolm X" to "xxx", "a red
 * nose" to "noose", "rapped" to "raped" and "a moose" to German "möse"; OCR reading one letter
 * "K" off a picture refused it as hate.
 */

/** What a term stands for once compiled. */
export interface TermRef {
  category: Category;
  /** The term as written in the file (or the person's name for the public-figure list). */
  term: string;
  weight: number;
  source: "lexicon" | "list";
  /** Index of the co-occurrence rule this term belongs to, if it is a context term. */
  rule?: number;
  /**
   * The term's normalised words before squeezing, where squeezing changed them ("kk" for
   * "kkk"; otherwise the key is the form): what a matching word's runs are compared with
   * (`mayMatchForm`). More than one where spellings of one term share a key ("massacre",
   * Spanish "masacre"): a word matches if it matches any.
   */
  forms?: string[];
  /**
   * Set for a term whose accents must match as written (`accents: exact` in its file): the
   * term's accented letters in order (`accentedLetters`), "" for a term written without any.
   */
  accents?: string;
}

export interface CooccurrenceRule {
  category: Category;
  when: Category;
  min: number;
  weight: number;
}

export interface CompiledPattern {
  ref: TermRef;
  re: RegExp;
  /** The body alone, without the whole-word lookarounds: tested first (see PatternScreen). */
  bare: RegExp;
}

/**
 * Why the regular expressions are screened first: V8 discards compiled regular-expression code at
 * every full garbage collection, and recompiling one whole-word pattern (its Unicode-property
 * lookarounds, see `wholeWords`) costs about 1.5 ms. With some fifty patterns and allow-patterns,
 * the first prompt after each collection paid about 110 ms of event-loop time (measured in the
 * gateway's CPU profile). The bodies alone, joined into one alternation without lookarounds,
 * recompile in a fraction of a millisecond and match wherever any whole-word pattern could
 * match; a prompt none of them can match (nearly every benign prompt) skips the patterns. When
 * the alternation does match, each pattern's own bare body (about 0.2 ms to recompile) decides
 * whether its whole-word form runs at all.
 */
export interface PatternScreen {
  /** The bare bodies of every pattern and allow-pattern, in the order they were added. */
  sources: string[];
  /**
   * Their alternations, each of at most `SCREEN_CHUNK_CHARS` of source, built on first use after
   * a change; null when they cannot be combined.
   */
  res?: RegExp[] | null;
  /** `sources.length` when `re` was built. */
  builtFor?: number;
}

export interface Match {
  ref: TermRef;
  /** UTF-16 offsets in the normalised text. */
  start: number;
  end: number;
}

export interface CompiledLexicon {
  exact: Map<string, TermRef[]>;
  prefix: Map<string, TermRef[]>;
  cjk: Map<string, TermRef[]>;
  patterns: CompiledPattern[];
  /** Per category, one alternation of its allow-patterns, whole-word and bare. */
  allow: Map<Category, { re: RegExp; bare: RegExp }>;
  /** Tested before `patterns` and `allow` run (see PatternScreen). */
  screen: PatternScreen;
  rules: CooccurrenceRule[];
  maxWords: number;
  maxCjk: number;
}

const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}ー々]/u;
const WORD = /[\p{L}\p{M}\p{N}]/u;
const MIN_PREFIX = 3;

/**
 * The Latin letters of `text` that carry an accent as one precomposed character ("ñ", "é",
 * "â"), lower-cased, in order: "Coño" gives "ñ", "râpé" "âé", "rape" "". Marks stacked on a
 * letter that has no precomposed form (zalgo) do not count, so they neither add nor hide one.
 */
export function accentedLetters(text: string): string {
  let out = "";
  for (const ch of text.normalize("NFC").toLowerCase()) {
    if (LATIN.test(ch) && ch.normalize("NFD") !== ch) out += ch;
  }
  return out;
}

const LATIN = /^\p{Script=Latin}$/u;

/** Collapses each run of one repeated letter to a single letter. */
export function squeeze(key: string): string {
  return key.replace(/(\p{L})\1+/gu, "$1");
}

/**
 * A term's word whose squeezed form has at least this many characters also matches a word that
 * repeats a letter fewer times than it does: a long word missing one of its double letters is
 * still that word misspelt ("shuterstock"), whereas a short one becomes another word or a lone
 * letter ("noose" and "nose", "teen" and "ten", "boobs" and "bobs", "kkk" and "k"). Five was
 * too few: "Niger", Spanish "fagot" (a bassoon) and Italian "viole" (violets) matched slurs and
 * "violée".
 */
export const LENIENT_FORM_CHARS = 6;

/**
 * A run of this many of one letter, or more, is stretched (nobody writes three in a row in
 * earnest): it may stand for a shorter run of the term's ("shooooot", "nuuude", "kiiill").
 */
const STRETCHED = 3;

/**
 * Whether `word` (normalised words, unsqueezed, stretched runs written at least `STRETCHED`
 * long; with the same squeezed key as the term) may match a term whose normalised words are
 * `form`. Run by run, word by word: a run as long as the term's matches; a longer one only if
 * stretched ("rapped" is not "raped", "moose" not "möse", "bidden" not "biden"); a shorter one
 * only in a long word of the term (`LENIENT_FORM_CHARS`), and one such run at most. For a
 * prefix term the last run of the prefix may go on in the word ("kidnapped" for "kidnap*").
 */
export function mayMatchForm(word: string, form: string, prefix = false): boolean {
  const words = word.split(" ");
  const forms = form.split(" ");
  if (words.length !== forms.length) return false;
  return forms.every((f, k) =>
    coversRuns(
      words[k]!,
      f,
      prefix && k === forms.length - 1,
      squeeze(f).length >= LENIENT_FORM_CHARS,
    ),
  );
}

function coversRuns(word: string, form: string, prefix: boolean, lenient: boolean): boolean {
  let i = 0;
  let j = 0;
  // A misspelling drops one double letter ("shuterstock"); a word with two fewer is another
  // word (Spanish "filete", a steak, is not French "fillette").
  let shorter = 0;
  while (j < form.length) {
    if (i >= word.length || word[i] !== form[j]) return false;
    let a = i + 1;
    while (a < word.length && word[a] === word[i]) a++;
    let b = j + 1;
    while (b < form.length && form[b] === form[j]) b++;
    const have = a - i;
    const want = b - j;
    const last = b === form.length;
    if (have < want && (!lenient || ++shorter > 1)) return false;
    if (have > want && have < STRETCHED && !(prefix && last)) return false;
    i = a;
    j = b;
  }
  return prefix || i === word.length;
}

export function emptyLexicon(): CompiledLexicon {
  return {
    exact: new Map(),
    prefix: new Map(),
    cjk: new Map(),
    patterns: [],
    allow: new Map(),
    screen: { sources: [] },
    rules: [],
    maxWords: 1,
    maxCjk: 1,
  };
}

function push(map: Map<string, TermRef[]>, key: string, ref: TermRef): void {
  const list = map.get(key);
  if (list === undefined) {
    map.set(key, [ref]);
    return;
  }
  // Two spellings of one term ("ハリー・ポッター", "ハリーポッター") are one term: keep the stronger,
  // matching what either spelling matched.
  const same = list.findIndex(
    (r) => r.category === ref.category && r.rule === ref.rule && r.accents === ref.accents,
  );
  if (same === -1) {
    list.push(ref);
    return;
  }
  const old = list[same]!;
  const forms = [...new Set([...(old.forms ?? [key]), ...(ref.forms ?? [key])])];
  const kept = old.weight < ref.weight ? ref : old;
  list[same] = forms.length === 1 && forms[0] === key ? kept : { ...kept, forms };
}

/**
 * Adds one term to the index, normalised like prompts are.
 * @returns false when the term normalises to nothing or is a one-character CJK term.
 */
export function addTerm(lex: CompiledLexicon, raw: string, ref: TermRef, normalise: Normaliser) {
  const isPrefix = raw.endsWith("*");
  const n = normalise(isPrefix ? raw.slice(0, -1) : raw);
  const text = n.text;
  if (text === "") return false;
  const chars = [...text];
  if (chars.every((c) => CJK_CHAR.test(c))) {
    if (chars.length < 2) return false;
    push(lex.cjk, text, ref);
    lex.maxCjk = Math.max(lex.maxCjk, text.length);
    return true;
  }
  if (chars.some((c) => CJK_CHAR.test(c))) {
    // Chinese or Japanese with Latin letters or digits ("C罗", "教皇レオ14世"): its words alone
    // would be "c" and "14", and "an iPhone 14" named the Pope. Matched as written instead.
    addPattern(lex, ref, text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    return true;
  }
  // Written as words are when matched, so a term's own run of three ("xxx", "kkk"), which the
  // normaliser squeezes to two, is not taken for a double letter that "xx" would match.
  const words = wordsOf(text).map(([a, b]) => written(text, a, b, n.repeats));
  if (words.length === 0) return false;
  const form = words.join(" ");
  const key = squeeze(form);
  push(isPrefix ? lex.prefix : lex.exact, key, key === form ? ref : { ...ref, forms: [form] });
  lex.maxWords = Math.max(lex.maxWords, words.length);
  return true;
}

/**
 * Adds an allow-pattern for a category (kept as one alternation per category), its letters
 * folded as a prompt's are.
 */
export function addAllow(lex: CompiledLexicon, category: Category, written: string): void {
  const source = foldPatternSource(written);
  const previous = lex.allow.get(category);
  const bounded = wholeWords(source);
  const combined = previous === undefined ? bounded : `${previous.re.source}|${bounded}`;
  const bare = previous === undefined ? `(?:${source})` : `${previous.bare.source}|(?:${source})`;
  lex.allow.set(category, { re: new RegExp(combined, "gu"), bare: new RegExp(bare, "u") });
  lex.screen.sources.push(source);
}

/** Adds a (whole-word) pattern for a term reference, its letters folded as a prompt's are. */
export function addPattern(lex: CompiledLexicon, ref: TermRef, written: string): void {
  const source = foldPatternSource(written);
  lex.patterns.push({
    ref,
    re: new RegExp(wholeWords(source), "gu"),
    bare: new RegExp(`(?:${source})`, "u"),
  });
  lex.screen.sources.push(source);
}

/**
 * Whether any pattern or allow-pattern could match `text`: false only when none can. A body
 * with a back-reference or a named group cannot be joined with the others safely (numbering,
 * duplicate names), so its presence turns the screen off (always true).
 */
export function patternsMayMatch(lex: CompiledLexicon, text: string): boolean {
  const screen = lex.screen;
  if (screen.sources.length === 0) return false;
  if (screen.builtFor !== screen.sources.length) {
    screen.builtFor = screen.sources.length;
    const joinable = screen.sources.every((s) => !/\\[1-9k]|\(\?<[^=!]/.test(s));
    screen.res = joinable ? joinInChunks(screen.sources) : null;
  }
  return screen.res === null || screen.res === undefined || screen.res.some((re) => re.test(text));
}

/**
 * Source characters per alternation of the screen. V8 leaves a regular expression of more than
 * about 20 KB of source (UTF-16) unoptimised: the lexicons' 9,700 characters of bodies joined in
 * one alternation scanned 973 prompts in 20 ms, and with any one more body in 155 ms (measured
 * in session 21, when the help and remembrance patterns took the bodies to 35,500 characters).
 */
export const SCREEN_CHUNK_CHARS = 8_000;

function joinInChunks(sources: string[]): RegExp[] {
  const out: RegExp[] = [];
  let chunk: string[] = [];
  let chars = 0;
  const flush = () => {
    if (chunk.length > 0) out.push(new RegExp(chunk.map((s) => `(?:${s})`).join("|"), "u"));
    chunk = [];
    chars = 0;
  };
  for (const source of sources) {
    if (chars + source.length > SCREEN_CHUNK_CHARS) flush();
    chunk.push(source);
    chars += source.length + 5;
  }
  flush();
  return out;
}

/**
 * Wraps a pattern so that it matches whole words only, in any script (JavaScript's \b only
 * knows ASCII). Chinese and Japanese have no spaces, so a CJK neighbour is not a word boundary
 * problem and patterns match inside CJK runs.
 */
export function wholeWords(source: string): string {
  return `(?<!${NON_CJK_WORD})(?:${source})(?!${NON_CJK_WORD})`;
}

const NON_CJK_WORD = "[^\\P{L}\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}]|\\p{N}";

/** Word ranges (non-CJK letters and digits) in normalised text. */
export function wordsOf(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (!isWordUnit(text, i) || CJK_CHAR.test(ch)) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < text.length && isWordUnit(text, j) && !CJK_CHAR.test(text[j]!)) j++;
    out.push([i, j]);
    i = j;
  }
  return out;
}

function isWordUnit(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  if (code < 0x80) return (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39);
  if (code >= 0xd800 && code <= 0xdfff) return true;
  return WORD.test(text[i]!);
}

/**
 * Finds every term, pattern and context-term occurrence in normalised text; `repeats` (the
 * normaliser's) says how many of a letter a squeezed one stood for.
 */
export function matchLexicon(lex: CompiledLexicon, text: string, repeats?: Uint8Array): Match[] {
  const matches: Match[] = [];
  const words = wordsOf(text);
  const raw = words.map(([a, b]) => written(text, a, b, repeats));
  const keys = raw.map(squeeze);
  // The words t..t+n-1 as written (unsqueezed), compared with the term's form; joined with ""
  // when the halves of one broken word are looked up together.
  const wordsAt = (t: number, n: number, sep = " ") => raw.slice(t, t + n).join(sep);
  const add = (
    map: Map<string, TermRef[]>,
    key: string,
    start: number,
    end: number,
    word: () => string,
    prefix = false,
  ) => {
    const refs = map.get(key);
    if (refs === undefined) return;
    const w = word();
    for (const ref of refs) {
      const forms = ref.forms ?? [key];
      if (forms.some((f) => mayMatchForm(w, f, prefix))) matches.push({ ref, start, end });
    }
  };
  for (let t = 0; t < words.length; t++) {
    let key = "";
    for (let n = 1; n <= lex.maxWords && t + n <= words.length; n++) {
      const last = keys[t + n - 1]!;
      const start = words[t]![0];
      const end = words[t + n - 1]![1];
      key = n === 1 ? last : `${key} ${last}`;
      const word = () => wordsAt(t, n);
      add(lex.exact, key, start, end, word);
      if (lex.prefix.size > 0) {
        const head = key.slice(0, key.length - last.length);
        for (let len = Math.min(MIN_PREFIX, last.length); len < last.length; len++) {
          add(lex.prefix, head + last.slice(0, len), start, end, word, true);
        }
        add(lex.prefix, key, start, end, word, true);
      }
      // Words broken in two by a separator ("nu-de", "ki ll") when one half is tiny.
      if (n === 2) {
        const first = keys[t]!;
        if (first.length <= 2 || last.length <= 2 || text[words[t]![1]] !== " ") {
          const joined = squeeze(first + last);
          if (joined.length >= 4) add(lex.exact, joined, start, end, () => wordsAt(t, 2, ""));
        }
      }
    }
  }
  if (lex.cjk.size > 0) matchCjk(lex, text, matches);
  if (!patternsMayMatch(lex, text)) return matches;
  for (const { ref, re, bare } of lex.patterns) {
    if (!bare.test(text)) continue;
    re.lastIndex = 0;
    for (const m of text.matchAll(re)) {
      if (m[0].length === 0) continue;
      matches.push({ ref, start: m.index, end: m.index + m[0].length });
    }
  }
  return matches;
}

/** text[a..b] with each letter the normaliser squeezed written out as a stretched run. */
function written(text: string, a: number, b: number, repeats?: Uint8Array): string {
  const word = text.slice(a, b);
  if (repeats === undefined || !repeats.subarray(a, b).some((r) => r > 1)) return word;
  let out = "";
  for (let i = a; i < b; i++) {
    const ch = text[i]!;
    // Half of a surrogate pair is left as it is: repeated, it would no longer pair.
    const surrogate = ch.charCodeAt(0) >= 0xd800 && ch.charCodeAt(0) <= 0xdfff;
    out += repeats[i]! > 1 && !surrogate ? ch.repeat(STRETCHED) : ch;
  }
  return out;
}

function matchCjk(lex: CompiledLexicon, text: string, matches: Match[]): void {
  let i = 0;
  while (i < text.length) {
    if (!CJK_CHAR.test(text[i]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j < text.length && (CJK_CHAR.test(text[j]!) || isSurrogateCjk(text, j))) j++;
    for (let a = i; a < j; a++) {
      for (let len = 2; len <= lex.maxCjk && a + len <= j; len++) {
        for (const ref of lex.cjk.get(text.slice(a, a + len)) ?? [])
          matches.push({ ref, start: a, end: a + len });
      }
    }
    i = j;
  }
}

function isSurrogateCjk(text: string, j: number): boolean {
  const code = text.charCodeAt(j);
  if (code < 0xd800 || code > 0xdfff) return false;
  const cp = text.codePointAt(code >= 0xdc00 ? j - 1 : j) ?? 0;
  return cp >= 0x20000 && cp <= 0x3ffff;
}

/** Allow-pattern ranges per category, in normalised text. */
export function allowRanges(
  lex: CompiledLexicon,
  text: string,
): Map<Category, Array<[number, number]>> {
  const out = new Map<Category, Array<[number, number]>>();
  if (!patternsMayMatch(lex, text)) return out;
  for (const [category, { re, bare }] of lex.allow) {
    if (!bare.test(text)) continue;
    re.lastIndex = 0;
    const ranges: Array<[number, number]> = [];
    for (const m of text.matchAll(re)) {
      if (m[0].length > 0) ranges.push([m.index, m.index + m[0].length]);
    }
    if (ranges.length > 0) out.set(category, ranges);
  }
  return out;
}
