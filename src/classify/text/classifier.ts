import { HallmarkError } from "../../errors/index.js";
import { CATEGORIES, type Category, type CategoryScores, emptyScores } from "../categories.js";
import { loadConfusableFold } from "./confusables.js";
import { loadEmoji, loadLexicons, loadPublicFigures } from "./lexicon-load.js";
import { emptyLexicon } from "./lexicon-match.js";
import { loadTextModel, type TextModel } from "./model.js";
import { createNormaliser, type Normalised } from "./normalise.js";
import { scoreLexicon } from "./score.js";

export interface TextClassifierOptions {
  /** policies/lexicons: <language>/<category>.yaml files and emoji.yaml. */
  lexiconDir: string;
  /** policies/public-figures: lists of real people; absent means the list source does not run. */
  publicFiguresDir?: string;
  /** models/text-classifier/model.onnx (with model.json beside it); absent means no model. */
  modelPath?: string;
  /** Longest text `classify` accepts, in UTF-16 units (default 4,000). */
  maxChars?: number;
}

/** Each source's own score for one category; `model` is null when the model did not run. */
export interface SourceScores {
  lexicon: number;
  list: number;
  model: number | null;
}

export interface TextResult {
  /** Combined score and spans per category (spans in UTF-16 offsets of the original text). */
  scores: CategoryScores;
  /** The normalised text the sources saw. */
  normalised: string;
  /** Which sources ran for this text. */
  sources: { lexicon: boolean; model: boolean; list: boolean };
  /** Per category, what each source scored (to say which one fired). */
  bySource: Record<Category, SourceScores>;
  /** Ids of the public figures the list matched. */
  people: string[];
  /** The model's id (file hash) when it ran. */
  modelId?: string;
}

export interface TextClassifier {
  /**
   * Scores one prompt. Empty or invisible-only text scores zero everywhere. Throws
   * `HallmarkError("prompt_too_long")` past `maxChars`; never throws for any other string
   * (lone surrogates, controls and bidi overrides are dropped by the normaliser).
   */
  classify(text: string): Promise<TextResult>;
  /** The normaliser the classifier uses, with its offset map. */
  normalise(text: string): Normalised;
  /** The model's id, when a model is loaded. */
  readonly modelId: string | undefined;
  /** Frees the model's ONNX Runtime session. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_CHARS = 4_000;

/**
 * Categories the model may score only where the lexicons found a cue of theirs (a term, or a
 * term of one of their co-occurrence rules, fired or not). sexual/minors: the model took short
 * prompts about adults for minors ("una donna nuda" 0.53, "eine nackte Frau" 0.38, "une femme
 * nue" 0.29, against a review threshold of 0.2), a false severe flag; a prompt about a minor
 * names one ("girl", "teen", "12 years old", and their counterparts in the nine languages).
 */
export const NEEDS_CUE: ReadonlySet<Category> = new Set(["sexual/minors"]);

/** Factor on the model's score where an allow-pattern matched and no lexicon term did. */
export const ALLOW_DAMPING = 0.4;

/**
 * Sub-categories lifted into their parent after combining, as in score.ts, so that a model-only
 * sexual/minors score also shows under sexual.
 */
const PARENTS: Array<[Category, Category]> = [
  ["sexual/minors", "sexual"],
  ["violence/graphic", "violence"],
  ["hate/threatening", "hate"],
  ["illicit/violent", "illicit"],
];

/**
 * Loads lexicons, the public-figure list and the ONNX model once, and returns the classifier.
 * Every file is validated with zod; a bad one throws `config_error` naming it.
 *
 * Combination: for each category the score is the largest of the lexicon score and the model
 * score, where the model's score is scaled by ALLOW_DAMPING (0.4) if an allow-pattern of that category matched and no
 * lexicon term did ("nude lipstick": the benign sense is known, the model's hunch is not);
 * `public-figure` comes from the curated list alone (a model's guess at who a name is cannot be
 * checked by a reviewer). Sub-categories then lift their parents.
 *
 * @example
 * const tc = await createTextClassifier({ lexiconDir: "policies/lexicons",
 *   publicFiguresDir: "policies/public-figures", modelPath: "models/text-classifier/model.onnx" });
 * (await tc.classify("a n.u.d.e photo")).scores.sexual.score; // ≥ 0.8
 */
export async function createTextClassifier(
  options: TextClassifierOptions,
): Promise<TextClassifier> {
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  const normalise = createNormaliser({
    confusables: loadConfusableFold(),
    emoji: loadEmoji(options.lexiconDir),
  });
  const lexicon = emptyLexicon();
  loadLexicons(lexicon, options.lexiconDir, normalise);
  const people =
    options.publicFiguresDir === undefined
      ? undefined
      : loadPublicFigures(lexicon, options.publicFiguresDir, normalise);
  const segmenter = new Intl.Segmenter("zh", { granularity: "word" });
  const model: TextModel | undefined =
    options.modelPath === undefined ? undefined : await loadTextModel(options.modelPath, segmenter);
  const nameToId = new Map([...(people?.values() ?? [])].map((p) => [p.name, p.id]));

  return {
    modelId: model?.id,
    normalise,
    async close() {
      await model?.release();
    },
    async classify(text) {
      if (typeof text !== "string") {
        throw new HallmarkError("invalid_request_error", "text must be a string");
      }
      if (text.length > maxChars) {
        throw new HallmarkError("prompt_too_long", `text is longer than ${maxChars} characters`, {
          details: { length: text.length, maxChars },
        });
      }
      const n = normalise(text);
      const lex = scoreLexicon(lexicon, n, text);
      const modelScores =
        model !== undefined && n.text !== "" ? await model.predict(n.text) : undefined;
      const scores = emptyScores();
      const bySource = {} as Record<Category, SourceScores>;
      // The model learnt from prompts a phrase or a sentence long; on one or two words it
      // guesses ("avenue" sexual 0.85, "apricot" illicit 0.88, "anime girl" sexual 0.87). There
      // it may only raise a category the lexicons already found something in (itself, its
      // parent or a sub-category: "dead body" violence 0.60 → 0.96), never start one.
      const short = modelScores !== undefined && wordCount(n.text, segmenter) < MIN_MODEL_WORDS;
      const lexiconFound = (c: Category) =>
        lex.scores[c] > 0 ||
        PARENTS.some(([child, parent]) =>
          child === c ? lex.scores[parent] > 0 : parent === c && lex.scores[child] > 0,
        );
      for (const c of CATEGORIES) {
        const fromList = c === "public-figure" ? lex.scores[c] : 0;
        const fromLexicon = c === "public-figure" ? 0 : lex.scores[c];
        const fromModel = model === undefined ? null : (modelScores?.[c] ?? 0);
        // A benign sense recognised by an allow-pattern cuts the model's say in that category.
        const damp = lex.allowed.has(c) && fromLexicon === 0 ? ALLOW_DAMPING : 1;
        const gated = (short && !lexiconFound(c)) || (NEEDS_CUE.has(c) && !lex.cues.has(c));
        const counted = gated ? 0 : (fromModel ?? 0) * damp;
        const combined = c === "public-figure" ? fromList : Math.max(fromLexicon, counted);
        scores[c] = { score: clamp(combined), spans: lex.spans[c] };
        bySource[c] = { lexicon: fromLexicon, list: fromList, model: fromModel };
      }
      for (const [child, parent] of PARENTS) {
        if (scores[child].score > scores[parent].score) scores[parent].score = scores[child].score;
      }
      const matched = new Set<string>();
      for (const span of lex.spans["public-figure"]) {
        const id = nameToId.get(span.term);
        if (id !== undefined) matched.add(id);
      }
      return {
        scores,
        normalised: n.text,
        sources: { lexicon: true, model: model !== undefined, list: people !== undefined },
        bySource,
        people: [...matched].sort(),
        ...(model === undefined ? {} : { modelId: model.id }),
      };
    },
  };
}

/**
 * From this many words on the model's scores count on their own; below, only where the
 * lexicons found something in the category (`npm run eval:text`: short benign prompts, and
 * 5,708 of 63,993 dictionary words screened alone, were flagged by the model's guesses).
 */
export const MIN_MODEL_WORDS = 3;

/** Words in normalised text (Chinese and Japanese by `Intl.Segmenter`, like the features). */
function wordCount(text: string, segmenter: Intl.Segmenter): number {
  let n = 0;
  for (const s of segmenter.segment(text)) if (s.isWordLike) n++;
  return n;
}

function clamp(x: number): number {
  if (!Number.isFinite(x)) return 0;
  return Math.min(1, Math.max(0, x));
}
