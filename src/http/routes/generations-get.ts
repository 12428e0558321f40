import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Db } from "../../db/index.js";
import { getGeneration } from "../../pipeline/index.js";
import type { AppEnv } from "../context.js";
import { errorResponses } from "../openapi.js";

export const GenerationRecordSchema = z
  .object({
    id: z.string(),
    created_at: z.string(),
    kind: z.string(),
    status: z.string(),
    user: z.string().nullable(),
    prompt: z.string().nullable(),
    prompt_sha256: z.string(),
    prompt_retention: z.string(),
    params: z.unknown(),
    model: z.string(),
    backend: z.string(),
    action: z.string(),
    decision: z.unknown(),
    stages: z.unknown(),
    error_code: z.string().nullable(),
    images: z.array(
      z.object({
        index: z.number(),
        sha256: z.string(),
        media_type: z.string(),
        width: z.number(),
        height: z.number(),
        bytes: z.number(),
        seed: z.string().nullable(),
        marks: z.unknown(),
      }),
    ),
  })
  .openapi("Generation");

/** `GET /v1/generations/{id}`: the owning tenant's audit record of one request. */
export function registerGenerationsGet(app: OpenAPIHono<AppEnv>, deps: { db: Db }): void {
  const route = createRoute({
    method: "get",
    path: "/v1/generations/{id}",
    summary: "The audit record of one generation (owning tenant only)",
    security: [{ bearerAuth: [] }],
    request: { params: z.object({ id: z.string().max(64) }) },
    responses: {
      200: {
        description: "The record",
        content: { "application/json": { schema: GenerationRecordSchema } },
      },
      404: {
        description: "No such generation for this tenant",
        content: errorResponses[400].content,
      },
      ...errorResponses,
    },
  });
  app.openapi(route, async (c) => {
    const { id } = c.req.valid("param");
    return c.json(await getGeneration(deps.db, c.get("principal"), id), 200);
  });
}
