/**
 * Scores the text read in an image against the policy's lexicons, through the prompt screen's
 * own classifier (same normaliser: homoglyphs, leetspeak, zero-width and spacing tricks), so a
 * stock-photo mark, a brand or any other lexicon term counts the same in pixels as in a prompt.
 *
 * Only the lexicon source counts: the text model was trained on prompts, not on the fragments
 * OCR reads off signs and textures, and the public-figure list is about depicting people, not
 * about a name printed in a picture.
 */
import { CATEGORIES, type Category, type CategoryScores, emptyScores } from "../categories.js";
import type { TextLine } from "./ocr.js";
import { completeFragments } from "./ocr-complete.js";
import { joinedLineReadings } from "./ocr-lines.js";

/** The part of the text classifier (src/classify/text) that OCR needs; passed in by the caller. */
export interface TextScreen {
  classify(text: string): Promise<{
    scores: CategoryScores;
    bySource: Record<Category, { lexicon: number }>;
  }>;
  /**
   * Long lexicon terms a fragment read may be completed to ("utterstock" → shutterstock; see
   * ocr-complete.ts); none when absent. `withCompletionTerms` adds them to a text classifier.
   */
  readonly completionTerms?: string[];
}

/**
 * The text screen for OCR: `screen`'s lexicon scoring, plus completion of fragments to `terms`
 * (e.g. `loadCompletionTerms(lexiconDir)`).
 */
export function withCompletionTerms(screen: TextScreen, terms: string[]): TextScreen {
  return { classify: (text) => screen.classify(text), completionTerms: terms };
}

/** Longest text handed to the screen (the prompt limit's default); the rest is not matched. */
export const MAX_OCR_TEXT_CHARS = 4_000;

/**
 * The recogniser's commonest confusion in Latin sans-serif type is capital I read as small l
 * ("Getty lmages"), which the prompt normaliser rightly leaves alone. A second reading with
 * l → I where an I is likely (a word's first letter, or between capitals) and "|" → I is
 * screened beside the first; distinct terms count once whichever reading found them.
 */
export function ocrConfusionVariant(text: string): string {
  return text
    .replace(/\|/g, "I")
    .replace(/(^|[^\p{L}])l(?=\p{L})/gu, "$1I")
    .replace(/(?<=\p{Lu})l(?=\p{Lu})/gu, "I");
}

/**
 * Category scores for the lines read (in reading order, one line each). Span offsets are in
 * the joined text, `lines.map(l => l.text).join("\n")` (past its end: in the words boxed apart
 * and read together, the confusion variant and then the completed fragments, each appended
 * after a newline); their source is
 * "ocr". With the screen's `completionTerms`, a fragment read is screened completed too:
 * "utterstock" as "shutterstock".
 */
export async function scoreImageText(
  screen: TextScreen,
  lines: TextLine[],
): Promise<CategoryScores> {
  const scores = emptyScores();
  if (lines.length === 0) return scores;
  // Words the detector boxed apart are also read together ("Getty" + "Images"; ocr-lines.ts).
  const readings = [...lines.map((l) => l.text), ...joinedLineReadings(lines)];
  const read = readings.join("\n");
  const variant = ocrConfusionVariant(read);
  // Completed from the readings as read and with l → I ("ty lmage" is a piece of "getty images").
  const completed = completeFragments(
    [...readings, ...readings.map(ocrConfusionVariant).filter((v, i) => v !== readings[i])],
    screen.completionTerms ?? [],
  );
  const text = [read, ...(variant === read ? [] : [variant]), ...completed]
    .join("\n")
    .slice(0, MAX_OCR_TEXT_CHARS);
  const r = await screen.classify(text);
  for (const c of CATEGORIES) {
    const score = r.bySource[c].lexicon;
    if (score <= 0) continue;
    scores[c] = {
      score,
      spans: r.scores[c].spans
        .filter((s) => s.source === "lexicon")
        .map((s) => ({ ...s, source: "ocr" })),
    };
  }
  return scores;
}

/** Per category the higher score, with both sets of spans. */
export function mergeScores(into: CategoryScores, from: CategoryScores): void {
  for (const c of CATEGORIES) {
    if (from[c].score > into[c].score) into[c].score = from[c].score;
    if (from[c].spans.length > 0) into[c].spans = [...into[c].spans, ...from[c].spans];
  }
}
