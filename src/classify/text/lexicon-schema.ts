import { z } from "zod";
import { CATEGORIES } from "../categories.js";

/**
 * The shape of one file under policies/lexicons/<language>/<category>.yaml. Terms are written
 * as a person would type them; they go through the same normaliser as prompts when loaded, so
 * "Größe" and "grosse" are one entry. A trailing "*" makes a term a prefix ("nackt*" matches
 * "nackte", "nackten"). Chinese and Japanese terms match anywhere inside a run of CJK text, so
 * they must be at least two characters long (one character is too ambiguous: 杀 is in 杀虫剂).
 */
const weight = z.number().gt(0).max(1);

const termEntry = z.union([
  z.string().min(1).max(200),
  z
    .strictObject({
      term: z.string().min(1).max(200),
      weight: weight.optional(),
      /**
       * `fold` (the default): accents are folded on both sides, so "pedophile" matches
       * "pédophile". `exact`: the word must carry the term's accented letters as written, no
       * more and no fewer, where folding would make it another language's word: Spanish
       * "coño" is not Italian and Spanish "cono" (cone), English "rape" not French "râpé"
       * (grated). Not for prefix terms.
       */
      accents: z.enum(["fold", "exact"]).optional(),
    })
    .refine((e) => e.accents !== "exact" || !e.term.endsWith("*"), {
      message: "accents: exact is not allowed on a prefix term",
    }),
]);

const regexSource = z
  .string()
  .min(1)
  .max(500)
  .refine(
    (source) => {
      try {
        new RegExp(source, "u");
        return true;
      } catch {
        return false;
      }
    },
    { message: "not a valid regular expression (u flag)" },
  );

const patternEntry = z.strictObject({
  pattern: regexSource,
  /** What reviewers see as the span's term (the pattern itself when absent). */
  name: z.string().min(1).max(80).optional(),
  weight: weight.optional(),
});

/**
 * A co-occurrence rule: this category also fires, at `weight`, when one of `terms` (or
 * `patterns`) matches and the `when` category already scored at least `min`. This is how
 * sexual/minors (a sexual prompt that names a minor) and hate/threatening (hate plus violence)
 * are scored without listing every combination.
 */
const cooccurrence = z.strictObject({
  when: z.enum(CATEGORIES),
  min: z.number().min(0).max(1).default(0.5),
  weight,
  terms: z.array(termEntry).default([]),
  patterns: z.array(patternEntry).default([]),
});

export const lexiconFileSchema = z.strictObject({
  category: z.enum(CATEGORIES),
  language: z.string().regex(/^[a-z]{2,3}$/),
  /** Where the terms came from (curation, seed lists and their licences). */
  source: z.string().min(1),
  /** Weight of terms that do not give their own. */
  weight: weight.default(0.8),
  terms: z.array(termEntry).default([]),
  /** Regular expressions over normalised text, for forms a term list cannot express. */
  patterns: z.array(patternEntry).default([]),
  /**
   * Benign senses: regular expressions over normalised text ("nude (lipstick|palette)").
   * A match of this category that lies wholly inside an allow match does not count.
   */
  allow: z.array(regexSource).default([]),
  cooccurrence: z.array(cooccurrence).default([]),
});

export type LexiconFile = z.infer<typeof lexiconFileSchema>;

/** Emoji that stand for words, policies/lexicons/emoji.yaml. */
export const emojiFileSchema = z.strictObject({
  source: z.string().min(1),
  emoji: z.record(z.string().min(1).max(16), z.string().min(1).max(40)),
});

/** One file under policies/public-figures/: real people at high risk of deepfakes. */
export const publicFiguresFileSchema = z.strictObject({
  source: z.string().min(1),
  /** Benign phrases that contain a name ("trump card"), regular expressions over normalised text. */
  allow: z.array(regexSource).default([]),
  people: z.array(
    z.strictObject({
      id: z.string().regex(/^[a-z0-9-]+$/),
      name: z.string().min(1),
      role: z.string().min(1),
      /** Full names in several scripts: score 0.95. */
      names: z.array(z.string().min(2)).min(1),
      /** Surnames and nicknames that usually mean this person: score 0.7. */
      aliases: z.array(z.string().min(2)).default([]),
    }),
  ),
});

export type PublicFiguresFile = z.infer<typeof publicFiguresFileSchema>;
