import { z } from "zod";
import { CATEGORIES } from "../classify/categories.js";

/** Licence and model ids: lower-case, digits, `.`, `_`, `-`, `+`. */
const licenceId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.+-]*$/, "a licence id: lower-case letters, digits, . _ - +");

const httpsUrl = z
  .string()
  .url()
  .refine((u) => u.startsWith("https://"), { message: "an https:// URL" });

/** One use restriction of a licence, with the Hallmark categories it covers. */
export const useRestrictionSchema = z
  .object({
    /** Where in the licence text, e.g. "Attachment A, item 2". */
    ref: z.string().min(1),
    /** The restriction, in the licence's words or a brief faithful paraphrase. */
    text: z.string().min(1),
    /** Hallmark categories whose firing means the use falls under this restriction (may be empty). */
    categories: z.array(z.enum(CATEGORIES)).default([]),
    /** "any" (default): one of the categories firing is enough; "all": they must fire together. */
    match: z.enum(["any", "all"]).default("any"),
  })
  .strict();

/** A licence file (policies/licences/<id>.yaml). Unknown keys are errors. */
export const licenceFileSchema = z
  .object({
    id: licenceId,
    name: z.string().min(1),
    version: z.string().min(1),
    source_url: httpsUrl,
    spdx: z.string().min(1).optional(),
    commercial_use: z
      .object({
        status: z.enum(["allowed", "restricted", "not_allowed"]),
        conditions: z.string().min(1),
      })
      .strict(),
    attribution: z
      .object({
        required: z.boolean(),
        text: z.string().min(1),
      })
      .strict(),
    use_restrictions: z.array(useRestrictionSchema).default([]),
    output_ownership: z.string().min(1),
    revenue_threshold: z
      .object({
        /** Commercial use is covered only while the licensee's annual revenue stays within this amount. */
        amount: z.number().positive(),
        currency: z.literal("USD"),
        /** How the licence words the boundary: "more than" the amount, or "at or above" it (meets or exceeds). */
        exceeded_when: z.enum(["more_than", "at_or_above"]),
        text: z.string().min(1),
      })
      .strict()
      .optional(),
    notes: z.string().optional(),
  })
  .strict();

export type LicenceFile = z.infer<typeof licenceFileSchema>;
export type UseRestriction = z.infer<typeof useRestrictionSchema>;

/** A glob-like model pattern: letters, digits, `.`, `_`, `-`, `+`, `/`, `:` and `*` (any run). */
const modelPattern = z
  .string()
  .regex(/^[A-Za-z0-9_.+\-/:*[\] ]+$/, "a model id or a pattern with * wildcards");

/** policies/licences/models.yaml: model ids (exact, then patterns in order) to licence ids. */
export const modelsFileSchema = z
  .object({
    /** A licence id, or "unknown": the licence of an unmapped model is not known and never guessed. */
    default: licenceId,
    models: z.record(z.string().min(1), licenceId).default({}),
    patterns: z.array(z.object({ match: modelPattern, licence: licenceId }).strict()).default([]),
  })
  .strict();

export type ModelsFile = z.infer<typeof modelsFileSchema>;
