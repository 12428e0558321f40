import { z } from "zod";
import { CATEGORIES, type Category } from "../classify/categories.js";

const threshold = z.number().min(0).max(1);

const categoryRule = z
  .object({ review: threshold, block: threshold })
  .strict()
  .refine((r) => r.review <= r.block, {
    message: "review threshold must not exceed block threshold",
  });

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
    marks: z
      .object({
        c2pa: z.enum(["required", "optional"]),
        watermark: z.enum(["required", "optional"]),
      })
      .strict(),
    licence: z
      .object({
        name: z.string().min(1),
        url: z.string().url(),
        usage_terms: z.string().optional(),
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
  })
  .strict();

export type PolicyFile = z.infer<typeof policyFileSchema>;
