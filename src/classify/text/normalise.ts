import type { ConfusableFold } from "./confusables.js";

/**
 * Prompt normalisation: turns what a person typed into a canonical form that lexicons and the
 * model can match, while keeping, for every UTF-16 unit of the result, the stretch of the
 * original it came from (so that spans point at what the user actually wrote).
 *
 * Steps, in order (see docs/text-screening.md for the reasons):
 * 1. per code point: drop invisible characters (Default_Ignorable, format controls such as
 *    zero-width spaces and bidi overrides), C0/C1 controls and lone surrogates; turn white space
 *    and line breaks into one space; replace letter-like emoji (🅽, 🇳, Ⓝ) by their letter and
 *    word emoji (🔫) by the word from policies/lexicons/emoji.yaml; compatibility-decompose
 *    (NFKD, which covers NFKC's folding of full-width and mathematical letters), strip combining
 *    marks on Latin, Greek and Cyrillic letters (accents, zalgo), recompose (NFC), lower-case,
 *    fold ß to ss;
 * 2. per word: fold homoglyphs (Unicode confusables) in words that mix Latin with look-alikes,
 *    or in look-alike-only words inside Latin text; undo leetspeak (pr0n, s3x, @ss) except in
 *    measurements (35mm, 4k, 1080p);
 * 3. join letters spaced out by separators (n.u.d.e, n u d e) and separators between Chinese or
 *    Japanese characters; squeeze runs of three or more equal letters (vowels to one, other
 *    letters to two: "nuuuude" → "nude", "kiiilll" → "kill"); collapse spaces.
 */
export interface Normalised {
  /** The normalised text. */
  text: string;
  /** For each UTF-16 unit of `text`, the start (inclusive) of its source in the original. */
  starts: Uint32Array;
  /** For each UTF-16 unit of `text`, the end (exclusive) of its source in the original. */
  ends: Uint32Array;
  /**
   * For each UTF-16 unit of `text`, how many of that letter stood in a row in the source where
   * a run of three or more was squeezed ("nooooose": 5 on its "o"; "kiiilll": 3 on each "l"),
   * else 1 (at most 255). The lexicon tells stretched letters from double ones by it.
   */
  repeats?: Uint8Array;
}

export type Normaliser = (text: string) => Normalised;

export interface NormaliserTables {
  confusables: ConfusableFold;
  /** Emoji (without variation selectors) to the word it stands for. */
  emoji: ReadonlyMap<string, string>;
}

/** Maps a span of normalised text back to the original text's UTF-16 offsets. */
export function toOriginalRange(n: Normalised, start: number, end: number): [number, number] {
  if (end <= start || start >= n.text.length) return [0, 0];
  return [n.starts[start]!, n.ends[Math.min(end, n.text.length) - 1]!];
}

interface Unit {
  ch: string;
  s: number;
  e: number;
  /** How long the run of equal letters was, when it was squeezed to this one (and another). */
  run?: number;
}

const INVISIBLE = /^[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Cc}\p{Cs}\p{Co}\p{Cn}]$/u;
const SPACE = /^[\s\p{Z}\u0085]$/u;
const MARK = /^\p{M}$/u;
/** Generic combining diacritics (the blocks zalgo text draws from), dropped after any base. */
const GENERIC_MARK = /^[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]$/u;
const VOWEL = /[aeiouyаеёиоуыэюяαεηιουω]/u;
const STRIP_MARKS_AFTER = /[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{Script=Common}]/u;
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}ー々]/u;
const LETTER = /\p{L}/u;
const LATIN = /\p{Script=Latin}/u;
const WORD_CHAR = /[\p{L}\p{M}\p{N}@$!|+€]/u;
const LEET: Record<string, string> = {
  "0": "o",
  "1": "i",
  "3": "e",
  "4": "a",
  "5": "s",
  "7": "t",
  "8": "b",
  "@": "a",
  $: "s",
  "!": "i",
  "|": "l",
  "+": "t",
  "€": "e",
};
/** Digits followed by these are measurements or counts, not leetspeak ("35mm", "4k", "1girl"). */
const MEASURE =
  /^\d+(mm|cm|m|km|k|p|px|d|x|s|fps|mp|in|ft|yo|girls?|boys?|others?|kg|g|h|min)?$|^\d*(1st|2nd|3rd|[04-9]th)$|^\d*1\dth$/;
const SEPARATORS_JOINABLE = /^[\s.\-_*~·•・/\\,:;'"`^=+]+$/u;

/**
 * Builds a normaliser over the given tables (the confusables fold and the emoji words).
 *
 * @example
 * const normalise = createNormaliser({ confusables: loadConfusableFold(), emoji: new Map() });
 * normalise("N.U.D.E ph0t0").text; // "nude photo"
 */
export function createNormaliser(tables: NormaliserTables): Normaliser {
  return (text) => finish(joinAndSqueeze(foldWords(perCodePoint(text, tables), tables)));
}

function perCodePoint(text: string, tables: NormaliserTables): Unit[] {
  const out: Unit[] = [];
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const len = cp > 0xffff ? 2 : 1;
    const ch = text.slice(i, i + len);
    const s = i;
    const e = i + len;
    i = e;
    if (cp >= 0x2000) {
      const seq = emojiSequence(text, s);
      const word = tables.emoji.get(seq.text);
      if (word !== undefined) {
        pushWord(out, ` ${word} `, s, seq.end);
        i = seq.end;
        continue;
      }
    }
    if (SPACE.test(ch)) {
      out.push({ ch: " ", s, e });
      continue;
    }
    if (INVISIBLE.test(ch)) continue;
    const letter = letterEmoji(cp);
    if (letter !== undefined) {
      out.push({ ch: letter, s, e });
      continue;
    }
    const decomposed = ch.normalize("NFKD");
    if (MARK.test(decomposed)) {
      const prev = out[out.length - 1];
      // Accents and zalgo on Latin, Greek, Cyrillic (and stray marks) go; kana voicing marks
      // (half-width ﾄﾞ) and other scripts' marks compose with their base.
      if (prev === undefined || STRIP_MARKS_AFTER.test(prev.ch) || GENERIC_MARK.test(decomposed)) {
        continue;
      }
      const composed = (prev.ch + decomposed).normalize("NFC");
      if ([...composed].length === 1) {
        prev.ch = composed;
        prev.e = e;
      } else {
        out.push({ ch: decomposed, s, e });
      }
      continue;
    }
    pushWord(out, foldDecomposed(decomposed), s, e);
  }
  return out;
}

/**
 * Folds the letters of a regular expression's source the way `perCodePoint` folds a prompt's
 * (accents stripped on Latin, Greek and Cyrillic, lower-cased, ß to ss), so that a pattern
 * written "los (judíos|árabes) son …" matches the normalised "los judios son …". Only characters
 * outside ASCII change: the pattern's syntax (`\W`, `\P{L}`) stays as written.
 */
export function foldPatternSource(source: string): string {
  let out = "";
  for (const ch of source) {
    if (ch.charCodeAt(0) < 0x80) {
      out += ch;
      continue;
    }
    out += foldDecomposed(ch.normalize("NFKD"));
  }
  return out;
}

/**
 * One code point, compatibility-decomposed, folded: accents and zalgo on Latin, Greek and
 * Cyrillic dropped (other scripts' marks kept), recomposed, lower-cased, ß to ss.
 */
function foldDecomposed(decomposed: string): string {
  let kept = "";
  for (const part of decomposed) {
    const strip = kept === "" || STRIP_MARKS_AFTER.test(kept) || GENERIC_MARK.test(part);
    if (MARK.test(part) && strip) continue;
    kept += part;
  }
  return kept.normalize("NFC").toLowerCase().replaceAll("ß", "ss").replaceAll("ς", "σ");
}

function pushWord(out: Unit[], word: string, s: number, e: number): void {
  for (const part of word) {
    if (SPACE.test(part)) out.push({ ch: " ", s, e });
    else if (!INVISIBLE.test(part)) out.push({ ch: part, s, e });
  }
}

/** The emoji at `at` without the variation selectors and skin-tone modifiers that follow it. */
function emojiSequence(text: string, at: number): { text: string; end: number } {
  const first = text.codePointAt(at)!;
  let end = at + (first > 0xffff ? 2 : 1);
  while (end < text.length) {
    const next = text.codePointAt(end)!;
    if (next !== 0xfe0f && next !== 0xfe0e && !(next >= 0x1f3fb && next <= 0x1f3ff)) break;
    end += next > 0xffff ? 2 : 1;
  }
  return { text: String.fromCodePoint(first), end };
}

/** Regional indicators and negative squared/circled Latin letters are letters in disguise. */
function letterEmoji(cp: number): string | undefined {
  const ranges: Array<[number, number]> = [
    [0x1f1e6, 0x1f1ff], // regional indicator symbols A–Z
    [0x1f150, 0x1f169], // negative circled A–Z
    [0x1f170, 0x1f189], // negative squared A–Z
    [0x1f130, 0x1f149], // squared A–Z
  ];
  for (const [lo, hi] of ranges) {
    if (cp >= lo && cp <= hi) return String.fromCharCode(0x61 + cp - lo);
  }
  if (cp === 0x274c || cp === 0x274e || cp === 0x2716) return "x";
  if (cp === 0x2b55) return "o";
  return undefined;
}

function isWordChar(ch: string): boolean {
  return WORD_CHAR.test(ch);
}

/** Confusable folding and leetspeak, word by word. */
function foldWords(units: Unit[], tables: NormaliserTables): Unit[] {
  let latin = 0;
  let other = 0;
  for (const u of units) {
    if (!LETTER.test(u.ch)) continue;
    if (LATIN.test(u.ch)) latin++;
    else if (tables.confusables.has(u.ch)) other++;
  }
  const latinText = latin > other;
  let i = 0;
  while (i < units.length) {
    if (!isWordChar(units[i]!.ch)) {
      i++;
      continue;
    }
    let j = i;
    while (j < units.length && isWordChar(units[j]!.ch)) j++;
    foldWord(units, i, j, tables.confusables, latinText);
    i = j;
  }
  return units;
}

function foldWord(
  units: Unit[],
  from: number,
  to: number,
  fold: ConfusableFold,
  latinText: boolean,
) {
  // Trailing and leading "!", "|" and "+" are punctuation, not letters ("kill!!").
  while (from < to && "!|+".includes(units[from]!.ch)) from++;
  while (to > from && "!|+@$".includes(units[to - 1]!.ch) && !leadsToLetter(units, from, to - 1))
    to--;
  if (from >= to) return;
  let hasLatin = false;
  let hasLookalike = false;
  let allLookalike = true;
  for (let k = from; k < to; k++) {
    const ch = units[k]!.ch;
    if (LATIN.test(ch)) hasLatin = true;
    else if (fold.has(ch)) hasLookalike = true;
    else if (LETTER.test(ch)) allLookalike = false;
  }
  if (hasLookalike && (hasLatin || (allLookalike && latinText))) {
    for (let k = from; k < to; k++) {
      const target = fold.get(units[k]!.ch);
      if (target !== undefined) units[k]!.ch = target;
    }
  }
  let word = "";
  for (let k = from; k < to; k++) word += units[k]!.ch;
  if (!/[a-z]/.test(word) || MEASURE.test(word)) return;
  for (let k = from; k < to; k++) {
    const leet = LEET[units[k]!.ch];
    if (leet !== undefined) units[k]!.ch = leet;
  }
}

/** "a$$": a trailing "$" after letters belongs to the word. */
function leadsToLetter(units: Unit[], from: number, at: number): boolean {
  const ch = units[at]!.ch;
  if (ch !== "$" && ch !== "@") return false;
  for (let k = from; k < at; k++) if (/[a-z]/.test(units[k]!.ch)) return true;
  return false;
}

/** Joins spaced-out letters and CJK runs, and squeezes repeated letters. */
function joinAndSqueeze(units: Unit[]): Unit[] {
  const words = wordRanges(units);
  const drop = new Uint8Array(units.length);
  // Runs of three or more one-letter words separated by short separators: "n.u.d.e".
  let k = 0;
  while (k < words.length) {
    // Every gap in a run must be the same separator, so "a n.u.d.e" keeps its article.
    let m = k;
    const gap = k + 1 < words.length ? gapText(units, words[k]![1], words[k + 1]![0]) : "";
    while (
      m + 1 < words.length &&
      isSingleLetter(units, words[m]!) &&
      isSingleLetter(units, words[m + 1]!) &&
      joinableGap(units, words[m]![1], words[m + 1]![0]) &&
      gapText(units, words[m]![1], words[m + 1]![0]) === gap
    )
      m++;
    if (m - k >= 2) {
      for (let w = k; w < m; w++) {
        for (let g = words[w]![1]; g < words[w + 1]![0]; g++) drop[g] = 1;
      }
      for (let w = k; w <= m; w++) {
        const u = units[words[w]![0]]!;
        const leet = LEET[u.ch];
        if (leet !== undefined) u.ch = leet;
      }
      k = m + 1;
    } else {
      k++;
    }
  }
  // Separators between two Chinese/Japanese characters ("裸 体", "裸.体").
  for (let w = 0; w + 1 < words.length; w++) {
    const a = units[words[w]![1] - 1]!;
    const b = units[words[w + 1]![0]]!;
    if (CJK.test(a.ch) && CJK.test(b.ch) && joinableGap(units, words[w]![1], words[w + 1]![0])) {
      for (let g = words[w]![1]; g < words[w + 1]![0]; g++) drop[g] = 1;
    }
  }
  const kept = units.filter((_, i) => drop[i] === 0);
  // Three or more of one letter: vowels squeeze to one ("nuuuude"), others to two ("kiiilll").
  const out: Unit[] = [];
  let i = 0;
  while (i < kept.length) {
    const u = kept[i]!;
    let j = i + 1;
    while (j < kept.length && kept[j]!.ch === u.ch) j++;
    if (j - i >= 3 && LETTER.test(u.ch)) {
      const keep = VOWEL.test(u.ch) ? 1 : 2;
      for (let k = 0; k < keep; k++) out.push({ ...kept[i + k]!, e: kept[j - 1]!.e, run: j - i });
    } else {
      for (let k = i; k < j; k++) out.push(kept[k]!);
    }
    i = j;
  }
  return out;
}

function wordRanges(units: Unit[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let i = 0;
  while (i < units.length) {
    if (!isWordChar(units[i]!.ch)) {
      i++;
      continue;
    }
    let j = i;
    while (j < units.length && isWordChar(units[j]!.ch)) j++;
    ranges.push([i, j]);
    i = j;
  }
  return ranges;
}

function isSingleLetter(units: Unit[], [a, b]: [number, number]): boolean {
  if (b - a !== 1) return false;
  const ch = units[a]!.ch;
  return /^[a-z0-9@$]$/.test(ch) || (LETTER.test(ch) && !CJK.test(ch));
}

function joinableGap(units: Unit[], from: number, to: number): boolean {
  return to - from <= 3 && SEPARATORS_JOINABLE.test(gapText(units, from, to));
}

function gapText(units: Unit[], from: number, to: number): string {
  let gap = "";
  for (let g = from; g < to; g++) gap += units[g]!.ch;
  return gap;
}

/** Collapses runs of spaces, trims, and lays out the offset arrays per UTF-16 unit. */
function finish(units: Unit[]): Normalised {
  let text = "";
  const starts: number[] = [];
  const ends: number[] = [];
  const repeats: number[] = [];
  for (const u of units) {
    if (u.ch === " " && (text.length === 0 || text.endsWith(" "))) continue;
    text += u.ch;
    for (let k = 0; k < u.ch.length; k++) {
      starts.push(u.s);
      ends.push(u.e);
      repeats.push(Math.min(u.run ?? 1, 255));
    }
  }
  if (text.endsWith(" ")) {
    text = text.slice(0, -1);
    starts.pop();
    ends.pop();
    repeats.pop();
  }
  return {
    text,
    starts: Uint32Array.from(starts),
    ends: Uint32Array.from(ends),
    repeats: Uint8Array.from(repeats),
  };
}
