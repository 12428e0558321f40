import {
  CATEGORIES,
  type Category,
  type CategoryScores,
  type Span,
} from "../classify/categories.js";
import type { Policy } from "./load.js";
import { applyRules, type FiredRule, type ScreenText } from "./rules.js";

export type Action = "allow" | "review" | "block";

const SEVERITY: Record<Action, number> = { allow: 0, review: 1, block: 2 };

export interface CategoryDecision {
  score: number;
  review: number;
  block: number;
  action: Action;
  /** Which screens produced the score: "prompt", "input", "output", … */
  screens: string[];
  spans: Array<Span & { screen: string }>;
}

/** A decision that explains itself: the action, every category's score and thresholds, and why. */
export interface Decision {
  action: Action;
  /** Categories at review or block, strictest first. */
  fired: Category[];
  categories: Record<Category, CategoryDecision>;
  /** The policy's word, regex and public-figure rules that changed a score. */
  rules: FiredRule[];
  policy: { id: string; hash: string };
}

/** One screen's scores; a text screen also gives its text and matched people, for the rules. */
export interface Screen {
  screen: string;
  scores: CategoryScores;
  text?: ScreenText;
  people?: readonly string[];
}

/**
 * Applies the policy's thresholds to the scores of one or more screens (the prompt, an input
 * image, the output, …). For each category the highest score across screens counts. The negative
 * prompt is not a screen that decides: "nude, nsfw" there asks the model to avoid those things.
 */
export function decide(policy: Policy, given: Screen[]): Decision {
  const rules: FiredRule[] = [];
  const screens = given.map((s) => {
    if (!s.text && !s.people) return s;
    const applied = applyRules(policy, s.scores, s.text, s.people);
    rules.push(...applied.fired);
    return { ...s, scores: applied.scores };
  });
  const categories = {} as Record<Category, CategoryDecision>;
  for (const category of CATEGORIES) {
    const rule = policy.categories[category];
    let score = 0;
    const from: string[] = [];
    const spans: CategoryDecision["spans"] = [];
    for (const { screen, scores } of screens) {
      const s = scores[category];
      if (s.score > 0) from.push(screen);
      score = Math.max(score, s.score);
      for (const span of s.spans) spans.push({ ...span, screen });
    }
    const action: Action =
      score >= rule.block ? "block" : score >= rule.review ? "review" : "allow";
    categories[category] = {
      score,
      review: rule.review,
      block: rule.block,
      action,
      screens: from,
      spans,
    };
  }
  const fired = CATEGORIES.filter((c) => categories[c].action !== "allow").sort(
    (a, b) => SEVERITY[categories[b].action] - SEVERITY[categories[a].action],
  );
  const action = fired.length === 0 ? "allow" : categories[fired[0]!].action;
  return { action, fired, categories, rules, policy: { id: policy.id, hash: policy.hash } };
}

/** The part of a decision that is safe to show the caller: no spans of other people's lists. */
export function publicSummary(decision: Decision): {
  action: Action;
  categories: Category[];
  policy: { id: string; hash: string };
} {
  return { action: decision.action, categories: decision.fired, policy: decision.policy };
}
