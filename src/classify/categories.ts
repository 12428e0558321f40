/**
 * The moderation categories every classifier scores and every policy thresholds.
 * The first eleven are the keys of OpenAI's moderation response
 * (https://platform.openai.com/docs/api-reference/moderations/object); the last two are
 * image-generation risks OpenAI does not score: real, named people (deepfakes) and
 * intellectual property (trademarked characters and brands, stock-photo marks, living artists).
 */
export const CATEGORIES = [
  "sexual",
  "sexual/minors",
  "violence",
  "violence/graphic",
  "hate",
  "hate/threatening",
  "harassment",
  "self-harm",
  "illicit",
  "illicit/violent",
  "public-figure",
  "intellectual-property",
] as const;

export type Category = (typeof CATEGORIES)[number];

export function isCategory(value: string): value is Category {
  return (CATEGORIES as readonly string[]).includes(value);
}

/** A matched stretch of the input, in UTF-16 code units of the original (un-normalised) text. */
export interface Span {
  start: number;
  end: number;
  /** The original text of the span. */
  text: string;
  /** The lexicon term, rule id or list entry it matched. */
  term: string;
  /** Where the match came from: "lexicon", "model", "list", "ocr", ... */
  source: string;
}

/** One category's result from one classifier. */
export interface CategoryScore {
  /** In [0, 1]. */
  score: number;
  spans: Span[];
}

export type CategoryScores = Record<Category, CategoryScore>;

export function emptyScores(): CategoryScores {
  return Object.fromEntries(
    CATEGORIES.map((c) => [c, { score: 0, spans: [] }]),
  ) as unknown as CategoryScores;
}
