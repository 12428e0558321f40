import { z } from "zod";
import { CATEGORIES, type Category } from "../classify/categories.js";

const threshold = z.number().min(0).max(1);

const categoryRule = z
  .object({ review: threshold, block: threshold })
  .strict()
  .refine((r) => r.review <= r.block, {
    message: "review threshold must not exceed block threshold",
  });

const ruleId = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, "a rule id: lower-case, digits, . _ -");

/** Regular expressions in rules: bounded, and they must compile (flags `iu` are implied). */
const regexSource = z
  .string()
  .min(1)
  .max(300)
  .refine(
    (s) => {
      try {
        new RegExp(s, "iu");
        return true;
      } catch {
        return false;
      }
    },
    { message: "not a valid regular expression (JavaScript syntax, flags iu)" },
  );

/**
 * A word or regex rule: when it matches the screened text, the category scores at least `score`
 * (so the category's thresholds decide the action, and the rule is named in the decision).
 */
export const textRuleSchema = z
  .object({
    id: ruleId,
    description: z.string().optional(),
    category: z.enum(CATEGORIES),
    /** Whole words or phrases, case-insensitive, matched on the prompt and on its normalised form. */
    words: z.array(z.string().min(1).max(200)).min(1).optional(),
    /** Regular expressions (flags `iu`), matched on the prompt and on its normalised form. */
    regex: z.array(regexSource).min(1).optional(),
    score: threshold.default(1),
    /** false: the rule is kept for the record but does not run (how an override turns one off). */
    enabled: z.boolean().default(true),
  })
  .strict()
  .refine((r) => (r.words === undefined) !== (r.regex === undefined), {
    message: "a rule has exactly one of words or regex",
  });

const personId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, "a person id from policies/public-figures");
const modelPattern = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.+\-/:* ]+$/, "a model id or a pattern with * wildcards");

/** What happens to a request when a stage errors or times out (docs/policies.md). */
const failureMode = z.enum(["closed", "open"]);

/** The policy file format (policies/*.yaml). Unknown keys are errors: a typo must not pass silently. */
export const policyFileSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/),
    description: z.string().optional(),
    prompts: z.object({ retention: z.enum(["plaintext", "sha256"]) }).strict(),
    categories: z
      .record(z.string(), categoryRule)
      .superRefine((record, ctx) => {
        for (const key of Object.keys(record)) {
          if (!(CATEGORIES as readonly string[]).includes(key)) {
            ctx.addIssue({ code: "custom", message: `unknown category "${key}"`, path: [key] });
          }
        }
        for (const c of CATEGORIES) {
          if (!(c in record))
            ctx.addIssue({ code: "custom", message: `missing category "${c}"`, path: [c] });
        }
      })
      .transform((r) => r as Record<Category, { review: number; block: number }>),
    /** Word and regex rules, in order; ids are unique. */
    rules: z
      .array(textRuleSchema)
      .default([])
      .superRefine((rules, ctx) => {
        const seen = new Set<string>();
        rules.forEach((r, i) => {
          if (seen.has(r.id)) {
            ctx.addIssue({
              code: "custom",
              message: `duplicate rule id "${r.id}"`,
              path: [i, "id"],
            });
          }
          seen.add(r.id);
        });
      }),
    /** Public-figure rules on the people the curated lists matched (policies/public-figures). */
    public_figures: z
      .object({
        /** People this policy lets be depicted (e.g. a tenant licensed to): their match does not count. */
        allow: z.array(personId).default([]),
        /** People never to be depicted: a match blocks, whatever the score. */
        block: z.array(personId).default([]),
      })
      .strict()
      .default({ allow: [], block: [] }),
    /** Which models may be asked for (exact ids or `*` patterns, case-insensitive). */
    models: z
      .object({ allow: z.array(modelPattern).min(1).default(["*"]) })
      .strict()
      .default({ allow: ["*"] }),
    marks: z
      .object({
        c2pa: z.enum(["required", "optional"]),
        watermark: z.enum(["required", "optional"]),
      })
      .strict(),
    /**
     * Per stage: `closed` (the default) fails the request with a 503 when the stage errors or
     * times out; `open` lets it continue without the stage, recorded as a bypass.
     */
    on_failure: z
      .object({
        screen_prompt: failureMode.default("closed"),
        screen_input: failureMode.default("closed"),
        screen_output: failureMode.default("closed"),
        watermark: failureMode.default("closed"),
        c2pa: failureMode.default("closed"),
      })
      .strict()
      .default({
        screen_prompt: "closed",
        screen_input: "closed",
        screen_output: "closed",
        watermark: "closed",
        c2pa: "closed",
      }),
    /** Edits (POST /v1/images/edits): what an input photo with a face (a real person) gets. */
    edits: z
      .object({ real_people: z.enum(["allow", "review", "block"]).default("review") })
      .strict()
      .default({ real_people: "review" }),
    licence: z
      .object({
        name: z.string().min(1),
        url: z.string().url(),
        usage_terms: z.string().optional(),
        /** How the licence audit checks a tenant that has not declared its use (`hallmark tenant set`). */
        undeclared_use: z.enum(["commercial", "non-commercial"]).default("commercial"),
      })
      .strict(),
    /** What the C2PA manifest says beyond the required facts. */
    manifest: z
      .object({
        /** The prompt text in the manifest (anyone holding the image can read it); its hash is always there. */
        include_prompt_text: z.boolean().default(false),
        /** CAWG training-and-data-mining permission for all four uses. */
        training_mining: z.enum(["allowed", "notAllowed", "constrained"]).default("notAllowed"),
      })
      .strict()
      .default({ include_prompt_text: false, training_mining: "notAllowed" }),
    /** Faces the image screen finds (docs/image-screening.md). */
    faces: z
      .object({
        /**
         * Sexual content (the `sexual` review threshold reached) with any face of apparent age
         * under this is `sexual/minors` at 1 (blocked): 18 plus a margin for the estimate's error.
         */
        minor_age: z.number().min(18).max(40).default(25),
        /** What an input image (an edit) showing a face gets: a real person may be in it. */
        input_with_face: z.enum(["allow", "review", "block"]).default("review"),
      })
      .strict()
      .default({ minor_age: 25, input_with_face: "review" }),
  })
  .strict()
  .superRefine((p, ctx) => {
    // A required mark is one no image leaves without: it cannot also be allowed to fail open.
    for (const mark of ["watermark", "c2pa"] as const) {
      if (p.on_failure[mark] === "open" && p.marks[mark] === "required") {
        ctx.addIssue({
          code: "custom",
          path: ["on_failure", mark],
          message: `"open" needs marks.${mark}: optional (a required mark cannot be bypassed)`,
        });
      }
    }
  });

export type PolicyFile = z.infer<typeof policyFileSchema>;
export type TextRule = z.infer<typeof textRuleSchema>;
export type FailureStage = keyof PolicyFile["on_failure"];

const partialCategory = z.object({ review: threshold, block: threshold }).strict().partial();

/**
 * A tenant's override (stored in the database, changed with `hallmark policy set` or the admin
 * API): any part of a policy, merged into the base policy it names. Objects merge key by key;
 * `rules` merge by id (a rule with an existing id replaces it); other lists replace the base's.
 * The merged result is validated by `policyFileSchema`, so an override cannot make a policy the
 * file format would reject.
 */
export const policyOverrideSchema = z
  .object({
    /** The base policy's id (a file in the policies folder); absent: the configured policy. */
    base: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]*$/)
      .optional(),
    description: z.string().optional(),
    prompts: z
      .object({ retention: z.enum(["plaintext", "sha256"]) })
      .strict()
      .partial()
      .optional(),
    categories: z.partialRecord(z.enum(CATEGORIES), partialCategory).optional(),
    rules: z.array(z.record(z.string(), z.unknown())).optional(),
    public_figures: z
      .object({ allow: z.array(personId), block: z.array(personId) })
      .strict()
      .partial()
      .optional(),
    models: z
      .object({ allow: z.array(modelPattern).min(1) })
      .strict()
      .partial()
      .optional(),
    marks: z
      .object({
        c2pa: z.enum(["required", "optional"]),
        watermark: z.enum(["required", "optional"]),
      })
      .strict()
      .partial()
      .optional(),
    on_failure: z
      .object({
        screen_prompt: failureMode,
        screen_input: failureMode,
        screen_output: failureMode,
        watermark: failureMode,
        c2pa: failureMode,
      })
      .strict()
      .partial()
      .optional(),
    edits: z
      .object({ real_people: z.enum(["allow", "review", "block"]) })
      .strict()
      .partial()
      .optional(),
    licence: z
      .object({
        name: z.string().min(1),
        url: z.string().url(),
        usage_terms: z.string(),
        undeclared_use: z.enum(["commercial", "non-commercial"]),
      })
      .strict()
      .partial()
      .optional(),
    manifest: z
      .object({
        include_prompt_text: z.boolean(),
        training_mining: z.enum(["allowed", "notAllowed", "constrained"]),
      })
      .strict()
      .partial()
      .optional(),
    faces: z
      .object({
        minor_age: z.number().min(18).max(40),
        input_with_face: z.enum(["allow", "review", "block"]),
      })
      .strict()
      .partial()
      .optional(),
  })
  .strict();

export type PolicyOverride = z.infer<typeof policyOverrideSchema>;
