/**
 * Completing marks that OCR read only in part. A semi-transparent mark over a busy or bright
 * background often loses its first or last letters to the background itself: white "sh" over a
 * white sky leaves "utterstock", "dr" over water leaves "eamstime" (scripts/models/eval-ocr.ts;
 * docs/image-screening.md). Such a fragment is completed to the lexicon term it can only be part
 * of, and the completion is screened beside the lines read, so the lexicon still decides the
 * category and weight.
 *
 * Deliberately narrow: only long terms (at least 8 letters and digits once spaces and
 * punctuation are dropped), only fragments of at least 6 characters that cover at least 70 % of
 * the term and lie inside it (after dropping at most one stray character at either end, which
 * is what a box edge cutting through a neighbouring letter adds); or the whole of a term of 10+
 * letters with one letter misread (12+: one lost or added). Tiled copies read run together
 * ("odepositphotdepositphotd") are cut into stretches one repeat long, each tried as a fragment.
 * Pieces of one term read apart (tiled copies each cut differently: "positp" and "ositphoto")
 * are put together when they overlap by at least 4 letters in the term and cover 70 % of it
 * together; each piece still 6+ characters and inside the term. A longer word that merely
 * begins like a term ("supermarket" against "superman") is not a fragment of it, and common
 * words that are a small part of a mark ("images", "stock", "deposit", "shutter") fall under
 * the 70 %.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const MIN_TERM_CHARS = 8;
const MIN_FRAGMENT_CHARS = 6;
const MIN_COVER = 0.7;
const MIN_SUBSTITUTION_CHARS = 10;
const MIN_INDEL_CHARS = 12;
/** Letters two pieces must share, where they meet in the term, to be read as one mark. */
const MIN_PIECE_OVERLAP = 4;

/** A term as OCR fragments are compared with it: lower case, letters and digits only. */
export function squeezeForOcr(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, "");
}

/**
 * The terms of one category's lexicon files (`<language>/<category>.yaml` under `lexiconDir`)
 * that are long enough to complete, e.g. the stock-photo marks of intellectual-property.
 */
export function loadCompletionTerms(
  lexiconDir: string,
  category = "intellectual-property",
): string[] {
  const terms = new Set<string>();
  for (const language of readdirSync(lexiconDir, { withFileTypes: true })) {
    if (!language.isDirectory()) continue;
    let text: string;
    try {
      text = readFileSync(join(lexiconDir, language.name, `${category}.yaml`), "utf8");
    } catch {
      continue;
    }
    const doc = parse(text) as { terms?: Array<string | { term: string }> } | null;
    for (const entry of doc?.terms ?? []) {
      const term = typeof entry === "string" ? entry : entry.term;
      // Prefix terms ("nackt*") and short ones are left to the lexicon's own matching.
      if (!term.endsWith("*") && squeezeForOcr(term).length >= MIN_TERM_CHARS) terms.add(term);
    }
  }
  return [...terms];
}

/**
 * The terms that the lines read contain only a fragment of (and not the whole term), in the
 * order first found. Each line is tried word by word, and whole (spaces dropped) against terms
 * of as many words.
 */
export function completeFragments(lines: string[], terms: string[]): string[] {
  const squeezed = terms.map((t) => ({ term: t, key: squeezeForOcr(t), words: wordCount(t) }));
  const out: string[] = [];
  // Where in each term the pieces read lie ([start, end) in its squeezed key), for assembly.
  const pieces = new Map<string, Array<[number, number]>>();
  for (const line of lines) {
    const whole = squeezeForOcr(line);
    const words = line.split(/\s+/).filter((w) => squeezeForOcr(w) !== "");
    // A word alone may be part of any term; several words together only of a term with as many
    // words ("etty Images" of "getty images"), so "stock photo" is not read as "istockphoto".
    const candidates: Array<{ text: string; words: number | null }> = words.map((w) => ({
      text: squeezeForOcr(w),
      words: null,
    }));
    if (words.length > 1) candidates.push({ text: whole, words: words.length });
    // Tiled copies that the detector boxed as one diagonal are read run together
    // ("odepositphotdepositphotd"): each stretch of one repeat is a fragment of its own.
    for (const candidate of [...candidates]) {
      for (const unit of repeatWindows(candidate.text))
        candidates.push({ text: unit, words: null });
    }
    // A line that holds the term as the lexicon reads it needs nothing; one that holds it
    // only once punctuation is dropped ("Ad'obe Stock") is completed like a fragment.
    const plain = line.toLowerCase().replace(/\s+/g, " ");
    for (const candidate of candidates) {
      for (const core of cores(candidate.text)) {
        if (core.length < MIN_FRAGMENT_CHARS) continue;
        for (const { term, key, words: n } of squeezed) {
          if (out.includes(term) || plain.includes(term.toLowerCase())) continue;
          if (candidate.words !== null && candidate.words !== n) continue;
          const fragment = core.length >= MIN_COVER * key.length && key.includes(core);
          if (fragment || oneLetterOff(core, key)) out.push(term);
          else {
            const placed = pieces.get(term) ?? [];
            for (let at = key.indexOf(core); at >= 0; at = key.indexOf(core, at + 1)) {
              placed.push([at, at + core.length]);
            }
            pieces.set(term, placed);
          }
        }
      }
    }
  }
  for (const { term, key } of squeezed) {
    const found = pieces.get(term);
    if (found && !out.includes(term) && assembles(found, key.length)) out.push(term);
  }
  return out;
}

/**
 * Whether pieces of a term ([start, end) in it), chained where each overlaps the next by at
 * least MIN_PIECE_OVERLAP letters, cover MIN_COVER of it. One piece alone never does (it
 * would have been completed as a fragment), nor do copies of one piece.
 */
function assembles(pieces: Array<[number, number]>, length: number): boolean {
  const sorted = [...pieces].sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i]![0];
    let end = sorted[i]![1];
    for (const [s, e] of sorted.slice(i + 1)) {
      if (e <= end) continue; // inside the chain so far: adds nothing
      if (end - s < MIN_PIECE_OVERLAP) break;
      end = e;
    }
    if (end - start >= MIN_COVER * length) return true;
  }
  return false;
}

/**
 * A whole term read with one letter wrong ("drecmstime") when the term has at least
 * MIN_SUBSTITUTION_CHARS letters, or one letter lost or added ("depostphotos") when it has at
 * least MIN_INDEL_CHARS: the recogniser's usual slips inside a word. Shorter terms would collide
 * with real words ("dreamtime" is one letter from "dreamstime").
 */
function oneLetterOff(read: string, key: string): boolean {
  if (read.length === key.length) {
    if (key.length < MIN_SUBSTITUTION_CHARS) return false;
    let diff = 0;
    for (let i = 0; i < key.length && diff < 2; i++) if (read[i] !== key[i]) diff++;
    return diff === 1;
  }
  if (key.length < MIN_INDEL_CHARS || Math.abs(read.length - key.length) !== 1) return false;
  const [short, long] = read.length < key.length ? [read, key] : [key, read];
  for (let i = 0; i < long.length; i++) {
    if (long.slice(0, i) + long.slice(i + 1) === short) return true;
  }
  return false;
}

/** Shortest repeat looked for: shorter periods are words said twice, not tiled marks. */
const MIN_REPEAT = 8;
/** Longest text searched for a repeat (tiled lines are read at most a few copies long). */
const MAX_REPEAT_TEXT = 96;

/**
 * The windows one period long of a text that repeats with a period of MIN_REPEAT or more over
 * at least MIN_REPEAT further characters, with at most one character in six differing from
 * the one a period earlier (OCR misreads some letters of each copy); none for other text.
 * "ohotoepositphotoeposi" repeats every 11 and gives "epositphoto" among its windows.
 */
export function repeatWindows(text: string): string[] {
  if (text.length > MAX_REPEAT_TEXT) return [];
  for (let p = MIN_REPEAT; p + MIN_REPEAT <= text.length; p++) {
    const overlap = text.length - p;
    let differ = 0;
    for (let i = 0; i < overlap; i++) if (text[i] !== text[i + p]) differ++;
    if (differ * 6 > overlap) continue;
    const out = new Set<string>();
    for (let i = 0; i + p <= text.length; i++) out.add(text.slice(i, i + p));
    return [...out];
  }
  return [];
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => squeezeForOcr(w) !== "").length;
}

/** The candidate itself and with one stray character dropped at either or both ends. */
function cores(candidate: string): string[] {
  const out = new Set([candidate, candidate.slice(1), candidate.slice(0, -1)]);
  if (candidate.length > 2) out.add(candidate.slice(1, -1));
  return [...out];
}
