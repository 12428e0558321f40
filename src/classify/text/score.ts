import { CATEGORIES, type Category, type Span } from "../categories.js";
import {
  accentedLetters,
  allowRanges,
  type CompiledLexicon,
  type Match,
  matchLexicon,
} from "./lexicon-match.js";
import { type Normalised, toOriginalRange } from "./normalise.js";

/**
 * Lexicon and list scoring. Within a category, distinct terms combine as a noisy-or
 * (1 − Π(1 − wᵢ)), so two weak cues ("blood", "corpse") add up while one strong term decides on
 * its own. Matches inside an allow-pattern of the same category do not count. Then the
 * co-occurrence rules run (sexual/minors, hate/threatening), and finally each sub-category
 * lifts its parent (a sexual/minors prompt is also sexual).
 */
export interface LexiconScores {
  scores: Record<Category, number>;
  spans: Record<Category, Span[]>;
  /** Categories for which an allow-pattern (a benign sense) matched. */
  allowed: Set<Category>;
  /**
   * Categories a term of which, or a term of one of whose co-occurrence rules, was found, even
   * where the rule did not fire: for sexual/minors, that the prompt names a minor ("girl",
   * "12 years old").
   */
  cues: Set<Category>;
}

/** Sub-categories and the category each implies. */
export const PARENT: Partial<Record<Category, Category>> = {
  "sexual/minors": "sexual",
  "violence/graphic": "violence",
  "hate/threatening": "hate",
  "illicit/violent": "illicit",
};

export function scoreLexicon(lex: CompiledLexicon, n: Normalised, original: string): LexiconScores {
  const scores = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  const spans = Object.fromEntries(CATEGORIES.map((c) => [c, []])) as unknown as Record<
    Category,
    Span[]
  >;
  const matches = matchLexicon(lex, n.text, n.repeats);
  const allowed = allowRanges(lex, n.text);
  const allowedCategories = new Set(allowed.keys());
  const cues = new Set<Category>();
  if (matches.length === 0) return { scores, spans, allowed: allowedCategories, cues };
  const kept = matches.filter(
    (m) => !insideAllow(allowed.get(m.ref.category), m) && accentsAgree(m, n, original),
  );
  const best = new Map<Category, Map<string, number>>();
  const ruleHits: Match[] = [];
  for (const m of kept) {
    cues.add(m.ref.category);
    if (m.ref.rule !== undefined) ruleHits.push(m);
    else addHit(best, spans, m, m.ref.weight, n, original);
  }
  combine(best, scores);
  for (const m of ruleHits) {
    const rule = lex.rules[m.ref.rule!]!;
    if (liftedScore(scores, rule.when) >= rule.min)
      addHit(best, spans, m, rule.weight, n, original);
  }
  combine(best, scores);
  for (const [child, parent] of Object.entries(PARENT) as Array<[Category, Category]>) {
    if (scores[child] > scores[parent]) scores[parent] = scores[child];
  }
  return { scores, spans, allowed: allowedCategories, cues };
}

/** Noisy-or over each category's distinct terms, each at the best weight it was found with. */
function combine(best: Map<Category, Map<string, number>>, scores: Record<Category, number>) {
  for (const [category, terms] of best) {
    let miss = 1;
    for (const w of terms.values()) miss *= 1 - w;
    scores[category] = 1 - miss;
  }
}

/** A category's score counting what its sub-categories found. */
function liftedScore(scores: Record<Category, number>, category: Category): number {
  let best = scores[category];
  for (const [child, parent] of Object.entries(PARENT) as Array<[Category, Category]>) {
    if (parent === category) best = Math.max(best, scores[child]);
  }
  return best;
}

function addHit(
  best: Map<Category, Map<string, number>>,
  spans: Record<Category, Span[]>,
  m: Match,
  weight: number,
  n: Normalised,
  original: string,
): void {
  const { category, term, source } = m.ref;
  const [start, end] = toOriginalRange(n, m.start, m.end);
  const list = spans[category];
  if (!list.some((s) => s.start === start && s.end === end && s.term === term)) {
    list.push({ start, end, text: original.slice(start, end), term, source });
  }
  let terms = best.get(category);
  if (terms === undefined) {
    terms = new Map();
    best.set(category, terms);
  }
  terms.set(term, Math.max(terms.get(term) ?? 0, weight));
}

/** For a term with `accents: exact`: whether the word as typed carries its accents. */
function accentsAgree(m: Match, n: Normalised, original: string): boolean {
  if (m.ref.accents === undefined) return true;
  const [start, end] = toOriginalRange(n, m.start, m.end);
  return accentedLetters(original.slice(start, end)) === m.ref.accents;
}

function insideAllow(ranges: Array<[number, number]> | undefined, m: Match): boolean {
  if (ranges === undefined) return false;
  return ranges.some(([a, b]) => a <= m.start && m.end <= b);
}
