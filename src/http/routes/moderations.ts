import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { CATEGORIES } from "../../classify/categories.js";
import type { ImageClassifier, RemoteImageFetcher } from "../../classify/image/index.js";
import type { TextClassifier } from "../../classify/text/index.js";
import { moderateMultiModal, moderateTexts } from "../../pipeline/index.js";
import type { Policy, PolicyStore } from "../../policy/index.js";
import type { AppEnv } from "../context.js";
import { errorResponses } from "../openapi.js";

const categoryFlags = z.object(Object.fromEntries(CATEGORIES.map((c) => [c, z.boolean()])));
const categoryScores = z.object(Object.fromEntries(CATEGORIES.map((c) => [c, z.number()])));
const appliedTypes = z.object(
  Object.fromEntries(CATEGORIES.map((c) => [c, z.array(z.enum(["text", "image"]))])),
);

export const ModerationResponseSchema = z
  .object({
    id: z.string(),
    model: z.string(),
    results: z.array(
      z.object({
        flagged: z.boolean(),
        categories: categoryFlags,
        category_scores: categoryScores,
        /** Multi-modal input only: the input types each category was scored on. */
        category_applied_input_types: appliedTypes.optional(),
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
          /** The policy that decided: the calling tenant's effective policy (base + override). */
          policy: z.object({ id: z.string(), hash: z.string() }),
          /** The policy's word, regex and public-figure rules that fired. */
          rules: z.array(z.object({ rule: z.string(), category: z.string(), effect: z.string() })),
          /**
           * Multi-modal input only: the image models that screened the image parts (files by
           * SHA-256, OCR's precision and settings; null without image parts).
           */
          image_models: z.record(z.string(), z.unknown()).nullable().optional(),
          /** Multi-modal input only: per image part, what the image screen found. */
          images: z.array(z.record(z.string(), z.unknown())).optional(),
        }),
      }),
    ),
  })
  .openapi("ModerationResponse");

/**
 * `POST /v1/moderations` as OpenAI shapes it (https://platform.openai.com/docs/api-reference/moderations):
 * a string or an array of strings (one result each), or omni-moderation's multi-modal array of
 * `{type: "text", text}` and `{type: "image_url", image_url: {url}}` parts (one result for the
 * whole array, with `category_applied_input_types`). Images are base64 data URLs; remote URLs
 * are refused with a 400 unless `fetchImage` is given (HALLMARK_MODERATION_REMOTE_IMAGES: SSRF
 * checks, size and time limits, src/classify/image/remote-fetch.ts). Each string is bounded by
 * the prompt limit, the array by HALLMARK_MAX_MODERATION_INPUTS, images by
 * HALLMARK_MAX_MODERATION_IMAGES and the body size limit. Every input is decided under the
 * calling tenant's effective policy (the base and the tenant's stored override, with its word,
 * regex and public-figure rules): the policy that would decide a generation with the same prompt,
 * named in `hallmark.policy`.
 */
export function registerModerations(
  app: OpenAPIHono<AppEnv>,
  deps: {
    text: TextClassifier;
    image?: ImageClassifier;
    /** The configured policy: what decides when there is no policy store. */
    policy: Policy;
    /** Tenants' effective policies (base + stored override); absent: every caller gets `policy`. */
    policies?: PolicyStore;
    maxChars: number;
    maxInputs: number;
    maxImages: number;
    /** Fetches remote image URLs; absent: they are refused. */
    fetchImage?: RemoteImageFetcher;
  },
): void {
  const text = z.string().max(deps.maxChars);
  const part = z.discriminatedUnion("type", [
    z.object({ type: z.literal("text"), text }).strict(),
    z
      .object({
        type: z.literal("image_url"),
        image_url: z.object({ url: z.string().min(1) }).strict(),
      })
      .strict(),
  ]);
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
                input: z.union([
                  text,
                  z.array(text).min(1).max(deps.maxInputs),
                  z.array(part).min(1).max(deps.maxInputs),
                ]),
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
    const principal = c.get("principal");
    const policy = deps.policies
      ? (await deps.policies.forTenant({ id: principal.tenantId, name: principal.tenantName }))
          .policy
      : deps.policy;
    const tenantDeps = { ...deps, policy };
    if (Array.isArray(input) && input.some((i) => typeof i !== "string")) {
      const parts = input as Array<Exclude<(typeof input)[number], string>>;
      return c.json(await moderateMultiModal(tenantDeps, parts), 200);
    }
    const inputs = (Array.isArray(input) ? input : [input]) as string[];
    return c.json(await moderateTexts(tenantDeps, inputs), 200);
  });
}
