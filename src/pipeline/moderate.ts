import { randomUUID } from "node:crypto";
import { CATEGORIES, type Category } from "../classify/categories.js";
import type { TextClassifier } from "../classify/text/index.js";
import { decide, type Policy } from "../policy/index.js";

export interface ModerationResult {
  flagged: boolean;
  categories: Record<Category, boolean>;
  category_scores: Record<Category, number>;
  /** Hallmark's extension: why, for reviewers. */
  hallmark: {
    action: string;
    normalised: string;
    sources: { lexicon: boolean; model: boolean; list: boolean };
    spans: Array<{
      category: Category;
      start: number;
      end: number;
      text: string;
      source: string;
      term: string;
    }>;
    people: string[];
    /** Per flagged-or-scored category, what each source scored (model null: it did not run). */
    by_source: Partial<Record<Category, { lexicon: number; list: number; model: number | null }>>;
    model_id: string | null;
  };
}

/**
 * Scores texts as /v1/moderations does (OpenAI's response shape). A category is flagged at the
 * policy's review threshold, the point at which the gateway would stop a generation.
 */
export async function moderateTexts(
  deps: { text: TextClassifier; policy: Policy },
  inputs: string[],
): Promise<{ id: string; model: string; results: ModerationResult[] }> {
  const results: ModerationResult[] = [];
  for (const input of inputs) {
    const r = await deps.text.classify(input);
    const d = decide(deps.policy, [{ screen: "input", scores: r.scores }]);
    const categories = {} as Record<Category, boolean>;
    const scores = {} as Record<Category, number>;
    const spans: ModerationResult["hallmark"]["spans"] = [];
    for (const c of CATEGORIES) {
      categories[c] = d.categories[c].action !== "allow";
      scores[c] = r.scores[c].score;
      for (const s of r.scores[c].spans) {
        spans.push({
          category: c,
          start: s.start,
          end: s.end,
          text: s.text,
          source: s.source,
          term: s.term,
        });
      }
    }
    results.push({
      flagged: d.action !== "allow",
      categories,
      category_scores: scores,
      hallmark: {
        action: d.action,
        normalised: r.normalised,
        sources: r.sources,
        spans,
        people: r.people,
        by_source: Object.fromEntries(
          CATEGORIES.filter((c) => scores[c] > 0).map((c) => [c, r.bySource[c]]),
        ),
        model_id: r.modelId ?? null,
      },
    });
  }
  return {
    id: `modr-${randomUUID().replaceAll("-", "")}`,
    model: deps.text.modelId
      ? `hallmark-text-${deps.text.modelId.slice(0, 12)}`
      : "hallmark-text-lexicon",
    results,
  };
}
