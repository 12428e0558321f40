import { describe, expect, it } from "vitest";
import {
  accentedLetters,
  addAllow,
  addPattern,
  allowRanges,
  type CompiledLexicon,
  emptyLexicon,
  matchLexicon,
  mayMatchForm,
  patternsMayMatch,
  SCREEN_CHUNK_CHARS,
} from "./lexicon-match.js";

const ref = {
  category: "violence" as const,
  term: "cutting",
  weight: 0.9,
  source: "lexicon" as const,
};

function lexicon(patterns: string[], allow: string[] = []): CompiledLexicon {
  const lex = emptyLexicon();
  for (const p of patterns) addPattern(lex, ref, p);
  for (const a of allow) addAllow(lex, "violence", a);
  return lex;
}

describe("pattern screen (one bare alternation tested before the whole-word patterns)", () => {
  it("is false only when no pattern or allow-pattern body occurs in the text", () => {
    const lex = lexicon(["(cut|slit) wrists?"], ["shooting star"]);
    expect(patternsMayMatch(lex, "a lighthouse at dusk")).toBe(false);
    expect(patternsMayMatch(lex, "slit wrist")).toBe(true);
    expect(patternsMayMatch(lex, "a shooting star")).toBe(true);
    // Inside a longer word: the bare body matches, so the whole-word pattern decides (no match).
    expect(patternsMayMatch(lex, "uncut wristband")).toBe(true);
    expect(matchLexicon(lex, "uncut wristband")).toEqual([]);
  });

  it("finds the same matches as the whole-word patterns alone", () => {
    const lex = lexicon(["(cut|slit) wrists?", "kill ?switch"], ["shooting star"]);
    const text = "slit wrists, a kill switch and a shooting star";
    expect(matchLexicon(lex, text).map((m) => text.slice(m.start, m.end))).toEqual([
      "slit wrists",
      "kill switch",
    ]);
    expect(allowRanges(lex, text).get("violence")).toEqual([[33, 46]]);
    expect(allowRanges(lex, "a quiet evening").size).toBe(0);
  });

  it("sees patterns and allow-patterns added after its first use", () => {
    const lex = lexicon(["(cut|slit) wrists?"]);
    expect(patternsMayMatch(lex, "kill switch")).toBe(false);
    addPattern(lex, ref, "kill ?switch");
    expect(patternsMayMatch(lex, "kill switch")).toBe(true);
    expect(matchLexicon(lex, "kill switch")).toHaveLength(1);
  });

  it("turns itself off for a body with a back-reference or a named group", () => {
    for (const body of ["(a)\\1x", "(?<tool>saw|axe) attack", "\\k<n>"]) {
      const lex = emptyLexicon();
      lex.screen.sources.push(body);
      expect(patternsMayMatch(lex, "nothing here")).toBe(true);
    }
    // Lookbehinds are not named groups: still screened.
    expect(patternsMayMatch(lexicon(["(?<=a )knife"]), "a fork")).toBe(false);
  });

  it("splits a long set of bodies into several alternations and still sees each one", () => {
    const bodies = Array.from({ length: 400 }, (_, i) => `word${i} (alpha|beta|gamma|delta) x`);
    const lex = lexicon(bodies);
    expect(patternsMayMatch(lex, "word399 gamma x")).toBe(true);
    expect(patternsMayMatch(lex, "word0 alpha x")).toBe(true);
    expect(patternsMayMatch(lex, "word399 epsilon x")).toBe(false);
    expect(lex.screen.res?.length).toBeGreaterThan(1);
    for (const re of lex.screen.res ?? [])
      expect(re.source.length).toBeLessThan(SCREEN_CHUNK_CHARS + 200);
  });

  it("is false for a lexicon without patterns", () => {
    expect(patternsMayMatch(emptyLexicon(), "anything")).toBe(false);
  });
});

describe("repeated letters (mayMatchForm)", () => {
  it("lets a word stretch a letter (three or more), not double one the term has once", () => {
    expect(mayMatchForm("kiiill", "kill")).toBe(true);
    expect(mayMatchForm("kill", "kill")).toBe(true);
    expect(mayMatchForm("kiill", "kill")).toBe(false);
    expect(mayMatchForm("rapped", "raped")).toBe(false);
    expect(mayMatchForm("moose", "mose")).toBe(false);
    expect(mayMatchForm("nooose", "noose")).toBe(true);
  });

  it("never lets a short word repeat a letter fewer times than the term", () => {
    expect(mayMatchForm("kil", "kill")).toBe(false);
    expect(mayMatchForm("k", "kk")).toBe(false);
    expect(mayMatchForm("kk", "kk")).toBe(true);
    expect(mayMatchForm("nose", "noose")).toBe(false);
    expect(mayMatchForm("ten", "teen")).toBe(false);
    expect(mayMatchForm("big but", "big butt")).toBe(false);
    expect(mayMatchForm("big buttt", "big butt")).toBe(true);
  });

  it("lets a long word of the term lose a double letter (a misspelling), not gain one", () => {
    expect(mayMatchForm("shuterstock", "shutterstock")).toBe(true);
    expect(mayMatchForm("topples", "topless")).toBe(false);
    expect(mayMatchForm("guci", "gucci")).toBe(false);
    // Five letters once squeezed is not long enough: "Niger", Spanish "fagot" (bassoon),
    // Italian "viole" (violets) are words of their own.
    expect(mayMatchForm("niger", "nigger")).toBe(false);
    expect(mayMatchForm("viole", "violee")).toBe(false);
    // One double letter lost is a misspelling; two make another word ("filete", a steak).
    expect(mayMatchForm("filete", "fillette")).toBe(false);
    expect(mayMatchForm("filette", "fillette")).toBe(true);
  });

  it("lets the prefix's last run go on in the word for a prefix term", () => {
    expect(mayMatchForm("kidnapped", "kidnap", true)).toBe(true);
    expect(mayMatchForm("doxxing", "doxx", true)).toBe(true);
    expect(mayMatchForm("doxing", "doxx", true)).toBe(false);
    expect(mayMatchForm("doxxing", "doxx")).toBe(false);
  });
});

describe("accents as written (accentedLetters)", () => {
  it("lists the precomposed accented Latin letters, lower-cased, in order", () => {
    expect(accentedLetters("Coño")).toBe("ñ");
    expect(accentedLetters("râpé")).toBe("âé");
    expect(accentedLetters("rape")).toBe("");
    expect(accentedLetters("con\u0303o")).toBe("ñ"); // decomposed n + tilde
    expect(accentedLetters("straße")).toBe("");
  });

  it("ignores marks with no precomposed letter (zalgo) and other scripts", () => {
    expect(accentedLetters("r\u0337a\u0337p\u0337e\u0337")).toBe("");
    expect(accentedLetters("убийца")).toBe("");
  });
});

describe("pattern sources are folded like prompts", () => {
  it("matches a pattern written with accents against the accent-stripped text", () => {
    const lex = lexicon(["los (judíos|árabes) son ratas"], ["la nuda verità"]);
    expect(matchLexicon(lex, "los judios son ratas")).toHaveLength(1);
    expect(allowRanges(lex, "la nuda verita").get("violence")).toEqual([[0, 14]]);
  });
});
