import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { CATEGORIES } from "../../classify/categories.js";
import type { TextClassifier } from "../../classify/text/index.js";
import { moderateTexts } from "../../pipeline/index.js";
import type { Policy } from "../../policy/index.js";
import type { AppEnv } from "../context.js";
import { errorResponses } from "../openapi.js";

const categoryFlags = z.object(Object.fromEntries(CATEGORIES.map((c) => [c, z.boolean()])));
const categoryScores = z.object(Object.fromEntries(CATEGORIES.map((c) => [c, z.number()])));

export const ModerationResponseSchema = z
  .object({
    id: z.string(),
    model: z.string(),
    results: z.array(
      z.object({
        flagged: z.boolean(),
        categories: categoryFlags,
        category_scores: categoryScores,
        hallmark: z.object({
          action: z.string(),
          normalised: z.string(),
          sources: z.object({ lexicon: z.boolean(), model: z.boolean(), list: z.boolean() }),
          spans: z.array(
            z.object({
              category: z.string(),
              start: z.number(),
              end: z.number(),
              text: z.string(),
              source: z.string(),
              term: z.string(),
            }),
          ),
          people: z.array(z.string()),
        }),
      }),
    ),
  })
  .openapi("ModerationResponse");

/**
 * `POST /v1/moderations` as OpenAI shapes it (https://platform.openai.com/docs/api-reference/moderations),
 * for text inputs. Each string is bounded by the prompt limit and the array by
 * HALLMARK_MAX_MODERATION_INPUTS.
 */
export function registerModerations(
  app: OpenAPIHono<AppEnv>,
  deps: { text: TextClassifier; policy: Policy; maxChars: number; maxInputs: number },
): void {
  const text = z.string().max(deps.maxChars);
  const route = createRoute({
    method: "post",
    path: "/v1/moderations",
    summary: "Score texts against the moderation categories",
    security: [{ bearerAuth: [] }],
    request: {
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z
              .object({
                input: z.union([text, z.array(text).min(1).max(deps.maxInputs)]),
                model: z.string().max(200).optional(),
              })
              .strict()
              .openapi("ModerationRequest"),
          },
        },
      },
    },
    responses: {
      200: {
        description: "Scores",
        content: { "application/json": { schema: ModerationResponseSchema } },
      },
      ...errorResponses,
    },
  });
  app.openapi(route, async (c) => {
    const { input } = c.req.valid("json");
    const inputs = Array.isArray(input) ? input : [input];
    return c.json(await moderateTexts(deps, inputs), 200);
  });
}
