import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context, HonoRequest } from "hono";
import { HallmarkError } from "../../errors/index.js";
import type { Delivery } from "../../jobs/index.js";
import { type EditRequest, editImages, type PipelineDeps } from "../../pipeline/index.js";
import type { AppEnv } from "../context.js";
import { requestSignal } from "../middleware/timeout.js";
import { errorResponses, modelErrorResponses } from "../openapi.js";
import { validationHook } from "../validation.js";
import {
  answerResult,
  GenerationAcceptedSchema,
  type GenerationLimits,
  GenerationResponseSchema,
  generationRequestSchema,
  generationResponse,
  requestedSize,
  requestFields,
} from "./images-generations.js";
import { streamEventSchema, streamGeneration } from "./images-generations-stream.js";

export interface EditLimits extends GenerationLimits {
  /** Largest uploaded file (`image`, `mask`), bytes. */
  maxInputBytes: number;
  /** Most files in `image[]`. */
  maxEditImages: number;
}

const BINARY = { type: "string" as const, format: "binary" };

/**
 * The text fields of `POST /v1/images/edits` as OpenAI shapes them
 * (https://platform.openai.com/docs/api-reference/images/createEdit), plus Hallmark's `seed`,
 * `negative_prompt` and `strength`. Multipart sends every value as text: numbers are parsed here.
 * OpenAI fields that do not change what is made (quality, background, input_fidelity,
 * partial_images) are accepted and ignored; `response_format: "url"` is refused; any other field
 * is an error. `stream: true` answers as Server-Sent Events, as generations do.
 */
export function editFieldsSchema(limits: EditLimits) {
  // The text fields shared with generations keep the same rules (well-formed Unicode, lengths).
  const shape = generationRequestSchema(limits).shape;
  const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();
  return z
    .object({
      prompt: shape.prompt,
      negative_prompt: shape.negative_prompt,
      n: int(1, limits.maxImages),
      size: shape.size,
      response_format: z
        .string()
        .optional()
        .refine((v) => v === undefined || v === "b64_json", {
          message:
            "only 'b64_json' is served: Hallmark does not host images at URLs (the bytes are returned with their marks).",
        }),
      output_format: shape.output_format,
      output_compression: int(0, 100),
      model: shape.model,
      seed: int(0, 4294967295),
      user: shape.user,
      strength: z.coerce.number().min(0).max(1).optional(),
      quality: z.string().max(32).optional(),
      background: z.string().max(32).optional(),
      input_fidelity: z.string().max(32).optional(),
      partial_images: z.string().max(8).optional(),
      stream: z.enum(["false", "true"]).optional(),
      hallmark_webhook_url: shape.hallmark_webhook_url,
    })
    .strict();
}

/** The multipart body for the OpenAPI document (files are checked by the pipeline, not zod). */
function openApiBody(limits: EditLimits) {
  return {
    type: "object" as const,
    required: ["image", "prompt"],
    properties: {
      image: {
        description: `The image to edit: PNG, JPEG or WebP, at most ${limits.maxInputBytes} bytes. Several as 'image[]' where the backend takes them.`,
        ...BINARY,
      },
      "image[]": { type: "array" as const, items: BINARY, maxItems: limits.maxEditImages },
      mask: {
        description:
          "PNG with an alpha channel, the same size as the image: fully transparent pixels are edited.",
        ...BINARY,
      },
      prompt: { type: "string" as const, maxLength: limits.maxPromptChars },
      negative_prompt: { type: "string" as const },
      n: { type: "integer" as const, minimum: 1, maximum: limits.maxImages },
      size: { type: "string" as const, enum: limits.sizes },
      response_format: { type: "string" as const, enum: ["b64_json"] },
      output_format: { type: "string" as const, enum: ["png", "jpeg", "webp"] },
      output_compression: { type: "integer" as const, minimum: 0, maximum: 100 },
      model: { type: "string" as const },
      seed: { type: "integer" as const, minimum: 0 },
      strength: { type: "number" as const, minimum: 0, maximum: 1 },
      user: { type: "string" as const },
      stream: {
        type: "string" as const,
        enum: ["false", "true"],
        description:
          "true: answered as Server-Sent Events (progress, then the completed body or an error), as for generations.",
      },
      hallmark_webhook_url: {
        type: "string" as const,
        maxLength: 2048,
        description:
          "POSTed a signed event when an edit held for review has its outcome (docs/async.md)",
      },
    },
  };
}

/**
 * Reads the multipart form: files in `image` / `image[]` and `mask`, every other field as text.
 * Shared with `POST /v1/images/variations`, which then refuses a mask and a second image.
 */
export async function readForm(
  request: HonoRequest,
  limits: EditLimits,
): Promise<{ images: Buffer[]; mask?: Buffer; fields: Record<string, string> }> {
  let form: FormData;
  try {
    // From Hono's buffered body: middleware before the route (quotas, idempotency) read it too.
    const type = request.header("content-type") ?? "";
    form = await new Response(await request.arrayBuffer(), {
      headers: { "content-type": type },
    }).formData();
  } catch {
    throw new HallmarkError("invalid_request_error", "The multipart body cannot be parsed.");
  }
  const images: Buffer[] = [];
  let mask: Buffer | undefined;
  const fields: Record<string, string> = {};
  const entries: Array<[string, FormDataEntryValue]> = [];
  form.forEach((value, name) => {
    entries.push([name, value]);
  });
  for (const [name, value] of entries) {
    const isFile = typeof value !== "string";
    if (name === "image" || name === "image[]" || name === "mask") {
      if (!isFile) {
        throw new HallmarkError(
          "invalid_request_error",
          `'${name}' must be a file (multipart/form-data with a filename), not a text field.`,
          { param: name },
        );
      }
      if (value.size > limits.maxInputBytes) {
        throw new HallmarkError(
          "image_too_large",
          `The '${name}' file is larger than ${limits.maxInputBytes} bytes.`,
          { param: name, details: { max_bytes: limits.maxInputBytes } },
        );
      }
      const bytes = Buffer.from(await value.arrayBuffer());
      if (name === "mask") {
        if (mask) {
          throw new HallmarkError("invalid_request_error", "Send one 'mask'.", { param: "mask" });
        }
        mask = bytes;
      } else {
        images.push(bytes);
      }
      continue;
    }
    if (isFile) {
      throw new HallmarkError(
        "invalid_request_error",
        `'${name}' must be a text field, not a file.`,
        {
          param: name,
        },
      );
    }
    if (name in fields) {
      throw new HallmarkError("invalid_request_error", `'${name}' is given more than once.`, {
        param: name,
      });
    }
    fields[name] = value;
  }
  if (images.length === 0) {
    throw new HallmarkError(
      "invalid_request_error",
      "Send the input image as the multipart file 'image'.",
      { param: "image" },
    );
  }
  if (images.length > limits.maxEditImages) {
    throw new HallmarkError(
      "invalid_request_error",
      `At most ${limits.maxEditImages} input images are accepted.`,
      { param: "image" },
    );
  }
  return { images, mask, fields };
}

/**
 * `POST /v1/images/edits`: OpenAI's edit request (multipart), screened before and after
 * generation, marked and audited like a generation; the response has the generations shape.
 */
export function registerImagesEdits(app: OpenAPIHono<AppEnv>, deps: EditRouteDeps): void {
  const fieldsSchema = editFieldsSchema(deps.limits);
  const route = createRoute({
    method: "post",
    path: "/v1/images/edits",
    summary: "Edit an image (img2img, inpainting): inputs and outputs screened, marked, audited",
    security: [{ bearerAuth: [] }],
    request: {
      body: {
        required: true,
        // A plain OpenAPI schema: the form is read and checked in the handler (files by bytes).
        content: { "multipart/form-data": { schema: openApiBody(deps.limits) } },
      },
    },
    responses: editResponses("The edited images"),
  });

  app.openapi(route, async (c) => {
    const form = await readForm(c.req, deps.limits);
    const body = parseFields(c, fieldsSchema, form.fields);
    const { dims, webhookUrl } = await editTarget(body, deps);
    const request: EditRequest = {
      ...requestFields(c.get("principal"), body, dims),
      images: form.images,
      mask: form.mask,
      strength: body.strength,
      // A review decision holds the edit for a reviewer where held images can be kept.
      allowHold: deps.delivery !== undefined,
    };
    return answerEdit(c, deps, request, webhookUrl, body.stream === "true");
  });
}

/**
 * A multipart form's text fields checked against `schema`, with the same mapping as JSON bodies
 * (an unknown field is `unknown_parameter`, else the first issue names its field).
 */
export function parseFields<T extends z.ZodType>(
  c: Context<AppEnv>,
  schema: T,
  fields: Record<string, string>,
): z.infer<T> {
  const parsed = schema.safeParse(fields);
  if (!parsed.success) {
    validationHook({ success: false, error: parsed.error, target: "form" }, c);
    throw new HallmarkError("invalid_request_error", "Invalid request.");
  }
  return parsed.data;
}

export type EditRouteDeps = { pipeline: PipelineDeps; limits: EditLimits; delivery?: Delivery };

/** The answers of an edit-shaped route (edits, variations) for the OpenAPI document. */
export function editResponses(made: string) {
  return {
    200: {
      description: `${made} (with \`stream=true\`: Server-Sent Events, docs/backends.md)`,
      content: {
        "application/json": { schema: GenerationResponseSchema },
        "text/event-stream": { schema: streamEventSchema(GenerationResponseSchema) },
      },
    },
    202: {
      description:
        "Held for review (a review decision, e.g. an input photo with a face, where holds are on): made, recorded and kept sealed; poll the Location (docs/async.md)",
      content: { "application/json": { schema: GenerationAcceptedSchema } },
    },
    ...errorResponses,
    ...modelErrorResponses,
  };
}

/**
 * The output size and the webhook URL of an edit-shaped request (edits, variations): a size
 * not in the configured list is 400 `invalid_size`; a webhook URL needs asynchronous delivery
 * and passes its SSRF checks.
 */
export async function editTarget(
  body: { size?: string; hallmark_webhook_url?: string },
  deps: EditRouteDeps,
): Promise<{ dims: { width: number; height: number }; webhookUrl?: string }> {
  const dims = requestedSize(body.size, deps.limits);
  if (body.hallmark_webhook_url !== undefined && !deps.delivery) {
    throw new HallmarkError("stage_unavailable", "Asynchronous delivery is not configured.");
  }
  const webhookUrl =
    body.hallmark_webhook_url === undefined
      ? undefined
      : await deps.delivery!.checkWebhookUrl(body.hallmark_webhook_url);
  return { dims, webhookUrl };
}

/**
 * Runs an edit-shaped request and answers it: streamed, held for review (202) or delivered.
 * Under an Idempotency-Key the request is recorded under the key's generation id, so a retry
 * that takes over an abandoned attempt finds what that attempt recorded instead of editing
 * again; a stream cannot be stored for replays, so it cannot have a key.
 */
export async function answerEdit(
  c: Context<AppEnv>,
  deps: EditRouteDeps,
  edit: EditRequest,
  webhookUrl: string | undefined,
  stream: boolean,
) {
  const id = c.get("idempotency")?.generationId;
  const request: EditRequest = id === undefined ? edit : { ...edit, id };
  if (stream) {
    if (id !== undefined) {
      throw new HallmarkError(
        "invalid_request_error",
        "stream cannot be combined with Idempotency-Key.",
        { param: "stream" },
      );
    }
    return streamGeneration(
      c,
      { pipeline: deps.pipeline, delivery: deps.delivery, toBody: generationResponse },
      (signal, options) => editImages(deps.pipeline, request, signal, options),
      webhookUrl,
    );
  }
  const result = await editImages(deps.pipeline, request, requestSignal(c));
  return answerResult(c, deps.delivery, request.principal, result, webhookUrl);
}
