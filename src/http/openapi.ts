import { z } from "@hono/zod-openapi";

export const ErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      code: z.string(),
      param: z.string().nullable(),
      request_id: z.string(),
    }),
  })
  .openapi("Error");

const errorContent = { "application/json": { schema: ErrorSchema } };

/** The error responses every route may give, shared so the OpenAPI document lists them once. */
export const errorResponses = {
  400: { description: "Invalid request or content policy refusal", content: errorContent },
  401: { description: "Missing or invalid API key", content: errorContent },
  413: { description: "Body or image too large", content: errorContent },
  415: { description: "Unsupported media type", content: errorContent },
  422: { description: "Unprocessable image", content: errorContent },
  429: { description: "At capacity; see Retry-After", content: errorContent },
  503: {
    description: "Database or backend unavailable; nothing was produced",
    content: errorContent,
  },
} as const;

/** The image routes' further refusals: a model the policy does not allow, or no backend serves. */
export const modelErrorResponses = {
  403: {
    description: "The key lacks the scope, or the policy does not allow the model",
    content: errorContent,
  },
  404: { description: "No configured backend serves the model", content: errorContent },
} as const;
