import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { HallmarkError } from "../../errors/index.js";
import type { EditRequest } from "../../pipeline/index.js";
import type { AppEnv } from "../context.js";
import {
  answerEdit,
  type EditLimits,
  type EditRouteDeps,
  editFieldsSchema,
  editResponses,
  editTarget,
  parseFields,
  readForm,
} from "./images-edits.js";
import { requestFields } from "./images-generations.js";

/**
 * The text fields of `POST /v1/images/variations` as OpenAI shapes them
 * (https://platform.openai.com/docs/api-reference/images/createVariation: image, model, n,
 * response_format, size, user), plus what Hallmark's edits take beside the prompt: `seed`,
 * `strength`, `output_format`, `output_compression`, `stream`, `hallmark_webhook_url`. There is
 * no prompt: a `prompt` or `negative_prompt` field is an unknown parameter, as at OpenAI.
 */
function variationFieldsSchema(limits: EditLimits) {
  // Strict like the edit fields it narrows: any field left out is an unknown parameter.
  return editFieldsSchema(limits).omit({
    prompt: true,
    negative_prompt: true,
    quality: true,
    background: true,
    input_fidelity: true,
    partial_images: true,
  });
}

const BINARY = { type: "string" as const, format: "binary" };

/** The multipart body for the OpenAPI document (the file is checked by the pipeline). */
function openApiBody(limits: EditLimits) {
  return {
    type: "object" as const,
    required: ["image"],
    properties: {
      image: {
        description: `The image to vary: PNG, JPEG or WebP, at most ${limits.maxInputBytes} bytes.`,
        ...BINARY,
      },
      n: { type: "integer" as const, minimum: 1, maximum: limits.maxImages },
      size: { type: "string" as const, enum: limits.sizes },
      response_format: { type: "string" as const, enum: ["b64_json"] },
      output_format: { type: "string" as const, enum: ["png", "jpeg", "webp"] },
      output_compression: { type: "integer" as const, minimum: 0, maximum: 100 },
      model: { type: "string" as const },
      seed: { type: "integer" as const, minimum: 0 },
      strength: { type: "number" as const, minimum: 0, maximum: 1 },
      user: { type: "string" as const },
      stream: { type: "string" as const, enum: ["false", "true"] },
      hallmark_webhook_url: { type: "string" as const, maxLength: 2048 },
    },
  };
}

/**
 * `POST /v1/images/variations`: OpenAI's variation request (multipart, one image, no prompt).
 * An edit without a prompt: the input is screened, the backend makes a picture like it (img2img
 * unconditioned, or the upstream's own variations endpoint), and the output is screened, marked,
 * signed with the input as parent ingredient and audited as kind `variation`.
 */
export function registerImagesVariations(app: OpenAPIHono<AppEnv>, deps: EditRouteDeps): void {
  const fieldsSchema = variationFieldsSchema(deps.limits);
  const route = createRoute({
    method: "post",
    path: "/v1/images/variations",
    summary: "Make variations of an image: input and outputs screened, marked, audited",
    security: [{ bearerAuth: [] }],
    request: {
      body: {
        required: true,
        content: { "multipart/form-data": { schema: openApiBody(deps.limits) } },
      },
    },
    responses: editResponses("The variations"),
  });

  app.openapi(route, async (c) => {
    const form = await readForm(c.req, deps.limits);
    if (form.mask) {
      throw new HallmarkError(
        "invalid_request_error",
        "A variation takes no mask; use /v1/images/edits to repaint part of an image.",
        { param: "mask" },
      );
    }
    if (form.images.length > 1) {
      throw new HallmarkError("invalid_request_error", "A variation takes one image.", {
        param: "image",
      });
    }
    const body = parseFields(c, fieldsSchema, form.fields);
    const { dims, webhookUrl } = await editTarget(body, deps);
    const request: EditRequest = {
      ...requestFields(c.get("principal"), { ...body, prompt: "" }, dims),
      images: form.images,
      strength: body.strength,
      variation: true,
      allowHold: deps.delivery !== undefined,
    };
    return answerEdit(c, deps, request, webhookUrl, body.stream === "true");
  });
}
