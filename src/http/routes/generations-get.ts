import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Db } from "../../db/index.js";
import type { Delivery } from "../../jobs/index.js";
import { getGeneration } from "../../pipeline/index.js";
import type { AppEnv } from "../context.js";
import { errorResponses } from "../openapi.js";

/**
 * A generation: while an async job waits or runs, only id, created_at, status (and error_code);
 * once recorded, the whole audit record, and `data` when its images are kept for delivery.
 */
export const GenerationRecordSchema = z
  .object({
    id: z.string(),
    created_at: z.string(),
    kind: z.string().optional(),
    status: z.enum(["queued", "running", "held", "completed", "refused", "failed"]),
    user: z.string().nullable().optional(),
    prompt: z.string().nullable().optional(),
    prompt_sha256: z.string().optional(),
    prompt_retention: z.string().optional(),
    params: z.unknown().optional(),
    model: z.string().optional(),
    backend: z.string().optional(),
    action: z.string().optional(),
    decision: z.unknown().optional(),
    stages: z.unknown().optional(),
    error_code: z.string().nullable(),
    log_index: z.number().int().nullable().optional(),
    data: z
      .array(z.object({ b64_json: z.string() }))
      .optional()
      .openapi({ description: "The images, when completed and kept for delivery (async, holds)" }),
    images: z
      .array(
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
      )
      .optional(),
  })
  .openapi("Generation");

/** `GET /v1/generations/{id}`: the owning tenant's audit record of one request. */
export function registerGenerationsGet(
  app: OpenAPIHono<AppEnv>,
  deps: { db: Db; delivery?: Delivery },
): void {
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
    const generation = await getGeneration(deps.db, c.get("principal"), id, deps.delivery?.outputs);
    // Still on its way: say when to look again (RFC 9110 §10.2.3).
    if (generation.status === "queued" || generation.status === "running")
      c.header("Retry-After", "1");
    return c.json(generation, 200);
  });
}
