import type { CategoryScores } from "../classify/categories.js";
import type { TextClassifier, TextResult } from "../classify/text/index.js";

/** Scores of the prompt (decisive) and of the negative prompt (recorded, not decisive). */
export interface PromptScreen {
  prompt: TextResult;
  negativePrompt: TextResult | null;
}

export async function screenPrompt(
  text: TextClassifier,
  prompt: string,
  negativePrompt: string | undefined,
): Promise<PromptScreen> {
  const [p, n] = await Promise.all([
    text.classify(prompt),
    negativePrompt ? text.classify(negativePrompt) : Promise.resolve(null),
  ]);
  return { prompt: p, negativePrompt: n };
}

/** The compact per-source view of a text result, for the audit row. */
export function auditView(result: TextResult | null): Record<string, unknown> | null {
  if (!result) return null;
  const nonZero = Object.fromEntries(
    Object.entries(result.scores as CategoryScores).filter(([, s]) => s.score > 0),
  );
  return {
    normalised: result.normalised,
    sources: result.sources,
    modelId: result.modelId ?? null,
    people: result.people,
    scores: nonZero,
  };
}
