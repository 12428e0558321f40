import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { HallmarkError } from "../../errors/index.js";
import { type ListedModel, listModels, type PipelineDeps } from "../../pipeline/index.js";
import type { AppEnv } from "../context.js";
import { errorResponses } from "../openapi.js";

const ModelSchema = z
  .object({
    id: z.string(),
    object: z.literal("model"),
    created: z.number().int().openapi({ description: "Unix time; 0: not known to the gateway" }),
    owned_by: z.string().openapi({ description: "The backend that serves it" }),
    hallmark: z.object({ backend: z.string(), default: z.boolean() }),
  })
  .openapi("Model");

const ModelListSchema = z
  .object({ object: z.literal("list"), data: z.array(ModelSchema) })
  .openapi("ModelList");

/** OpenAI's Model object; the gateway does not know when a backend's model was made. */
function modelObject(m: ListedModel) {
  return {
    id: m.id,
    object: "model" as const,
    created: 0,
    owned_by: m.backend,
    hallmark: { backend: m.backend, default: m.default },
  };
}

/**
 * `GET /v1/models` and `GET /v1/models/{id}` (OpenAI's shapes): the models the caller's tenant
 * can generate with, across the configured backends (docs/backends.md).
 */
export function registerModels(app: OpenAPIHono<AppEnv>, deps: { pipeline: PipelineDeps }): void {
  const list = createRoute({
    method: "get",
    path: "/v1/models",
    summary: "The models this tenant may ask for",
    security: [{ bearerAuth: [] }],
    responses: {
      200: {
        description: "Served by a configured backend and allowed by the tenant's policy",
        content: { "application/json": { schema: ModelListSchema } },
      },
      ...errorResponses,
    },
  });
  app.openapi(list, async (c) => {
    const models = await listModels(deps.pipeline, c.get("principal"));
    return c.json({ object: "list" as const, data: models.map(modelObject) }, 200);
  });

  const one = createRoute({
    method: "get",
    path: "/v1/models/{model}",
    summary: "One model this tenant may ask for",
    security: [{ bearerAuth: [] }],
    request: { params: z.object({ model: z.string().max(256) }) },
    responses: {
      200: {
        description: "The model",
        content: { "application/json": { schema: ModelSchema } },
      },
      404: {
        description: "No configured backend serves it, or the tenant's policy does not allow it",
        content: errorResponses[400].content,
      },
      ...errorResponses,
    },
  });
  app.openapi(one, async (c) => {
    const { model } = c.req.valid("param");
    const found = (await listModels(deps.pipeline, c.get("principal"))).find((m) => m.id === model);
    if (!found) {
      throw new HallmarkError(
        "model_not_found",
        `The model "${model}" is not served here, or not to this key's tenant.`,
        { param: "model" },
      );
    }
    return c.json(modelObject(found), 200);
  });
}
