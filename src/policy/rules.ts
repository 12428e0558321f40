import type { Category, CategoryScores, Span } from "../classify/categories.js";
import type { PolicyFile, TextRule } from "./schema.js";

/**
 * The screened text a policy's word and regex rules run on: the original and, where the screen
 * has it, its normalised form with the map back to the original (`starts`/`ends` per UTF-16
 * unit, as src/classify/text's normaliser makes it), so that `n.u.d.e` and homoglyphs do not
 * slip past a rule and spans still point into what the caller sent.
 */
export interface ScreenText {
  original: string;
  normalised?: { text: string; starts: ArrayLike<number>; ends: ArrayLike<number> };
}

/** A policy rule that changed a decision, for the explanation. */
export interface FiredRule {
  /** `rules.<id>`, `public_figures.allow` or `public_figures.block`. */
  rule: string;
  category: Category;
  /** What it did to the category's score. */
  effect: string;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** One rule's compiled expressions (whole words use Unicode letter/digit boundaries). */
function compile(rule: TextRule): RegExp[] {
  if (rule.regex) return rule.regex.map((r) => new RegExp(r, "giu"));
  return (rule.words ?? []).map(
    (w) =>
      new RegExp(
        `(?<![\\p{L}\\p{N}])${escapeRegExp(w.trim()).replace(/\s+/g, "\\s+")}(?![\\p{L}\\p{N}])`,
        "giu",
      ),
  );
}

function matches(re: RegExp, text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    // A pattern of lookaheads matches the empty string: it is about the text as a whole.
    if (m[0].length === 0) return [[0, text.length]];
    out.push([m.index, m.index + m[0].length]);
    if (out.length >= 20) break;
  }
  return out;
}

/**
 * Applies the policy's word and regex rules and public-figure rules to one screen's scores
 * (returns new scores; the input is not changed). A matching rule raises its category's score to
 * at least the rule's score, with a span per match; `public_figures.allow` discounts a match
 * whose people are all allowed, `public_figures.block` makes a listed person's match score 1.
 */
export function applyRules(
  policy: Pick<PolicyFile, "rules" | "public_figures">,
  scores: CategoryScores,
  text: ScreenText | undefined,
  people: readonly string[] | undefined,
): { scores: CategoryScores; fired: FiredRule[] } {
  const out = structuredClone(scores);
  const fired: FiredRule[] = [];
  if (text) {
    for (const rule of policy.rules) {
      if (!rule.enabled) continue;
      const spans: Span[] = [];
      for (const re of compile(rule)) {
        for (const [s, e] of matches(re, text.original)) {
          spans.push({
            start: s,
            end: e,
            text: text.original.slice(s, e),
            term: rule.id,
            source: "rule",
          });
        }
        const n = text.normalised;
        if (spans.length === 0 && n && n.text !== text.original) {
          for (const [s, e] of matches(re, n.text)) {
            const start = n.starts[s] ?? 0;
            const end = n.ends[Math.min(e, n.text.length) - 1] ?? start;
            spans.push({
              start,
              end,
              text: text.original.slice(start, end),
              term: rule.id,
              source: "rule",
            });
          }
        }
      }
      if (spans.length === 0) continue;
      const c = out[rule.category];
      const before = c.score;
      c.score = Math.max(c.score, rule.score);
      c.spans.push(...spans);
      fired.push({
        rule: `rules.${rule.id}`,
        category: rule.category,
        effect: `matched ${spans.length}×; score ${round(before)} → ${round(c.score)}`,
      });
    }
  }
  if (people && people.length > 0) {
    const pf = out["public-figure"];
    const blocked = people.filter((p) => policy.public_figures.block.includes(p));
    const allowed = people.filter((p) => policy.public_figures.allow.includes(p));
    if (blocked.length > 0) {
      fired.push({
        rule: "public_figures.block",
        category: "public-figure",
        effect: `${blocked.join(", ")}: score ${round(pf.score)} → 1`,
      });
      pf.score = 1;
    } else if (allowed.length === people.length && pf.score > 0) {
      fired.push({
        rule: "public_figures.allow",
        category: "public-figure",
        effect: `${allowed.join(", ")}: score ${round(pf.score)} → 0`,
      });
      pf.score = 0;
    }
  }
  return { scores: out, fired };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
