import { randomUUID } from "node:crypto";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { parseSize } from "../../config/index.js";
import type { Db } from "../../db/index.js";
import { HallmarkError } from "../../errors/index.js";
import type { Delivery } from "../../jobs/index.js";
import {
  type GenerationResult,
  generateImages,
  type OutputFormat,
  type PipelineDeps,
  serverTiming,
} from "../../pipeline/index.js";
import type { Principal } from "../../tenants/index.js";
import type { AppEnv, Delivered } from "../context.js";
import { requestSignal } from "../middleware/timeout.js";
import { errorResponses, modelErrorResponses } from "../openapi.js";
import { keepHeld } from "./held.js";
import { streamEventSchema, streamGeneration } from "./images-generations-stream.js";

export interface GenerationLimits {
  maxPromptChars: number;
  maxImages: number;
  sizes: string[];
  defaultSize: string;
}

/**
 * The request body, as OpenAI's `POST /v1/images/generations` shapes it
 * (https://platform.openai.com/docs/api-reference/images/create), plus Hallmark's `seed` and
 * `negative_prompt`. OpenAI fields that do not change what is made (quality, style, background,
 * moderation) are accepted and ignored; any other field is an error.
 */
/**
 * Text that is well-formed Unicode without NUL: a lone surrogate cannot be hashed or signed as
 * text, and PostgreSQL text cannot hold U+0000 (found by the sweep: it was a 500).
 */
function text(max: number, min = 0) {
  return z
    .string()
    .min(min)
    .max(max)
    .refine((v) => !LONE_SURROGATE.test(v), {
      message: "must be well-formed Unicode (no lone surrogates)",
    })
    .refine((v) => !v.includes("\u0000"), { message: "must not contain NUL (U+0000)" });
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function generationRequestSchema(limits: GenerationLimits) {
  return z
    .object({
      prompt: text(limits.maxPromptChars, 1).openapi({ example: "a lighthouse at dusk" }),
      negative_prompt: text(limits.maxPromptChars).optional(),
      n: z.number().int().min(1).max(limits.maxImages).optional().openapi({ example: 1 }),
      size: z.string().optional().openapi({ example: limits.defaultSize }),
      response_format: z.literal("b64_json").optional(),
      output_format: z.enum(["png", "jpeg", "webp"]).optional(),
      output_compression: z.number().int().min(0).max(100).optional(),
      model: text(200, 1).optional(),
      seed: z.number().int().min(0).max(4294967295).optional(),
      user: text(256).optional(),
      quality: z.string().max(32).optional(),
      style: z.string().max(32).optional(),
      background: z.string().max(32).optional(),
      moderation: z.string().max(32).optional(),
      hallmark_async: z.boolean().optional().openapi({
        description:
          "Answer 202 at once and generate in a worker (also `Prefer: respond-async`); docs/async.md",
      }),
      stream: z.boolean().optional().openapi({
        description:
          "Answer text/event-stream: progress events (stages, denoising steps), then one image_generation.completed event with the usual body, or an error event (docs/backends.md)",
      }),
      partial_images: z.number().int().min(0).max(3).optional().openapi({
        description:
          "Accepted for OpenAI compatibility and ignored: no image leaves before it is screened, marked, signed and audited",
      }),
      hallmark_webhook_url: z.string().max(2048).optional().openapi({
        description: "POSTed a signed event when an async or held generation has its outcome",
      }),
    })
    .strict()
    .openapi("ImageGenerationRequest");
}

const StageSchema = z.object({
  name: z.string(),
  status: z.enum(["applied", "absent", "skipped", "failed"]),
  ms: z.number(),
  note: z.string().optional(),
});

export const GenerationResponseSchema = z
  .object({
    created: z.number().int(),
    data: z.array(z.object({ b64_json: z.string() })),
    hallmark: z.object({
      generation_id: z.string().uuid(),
      log_index: z
        .number()
        .int()
        .openapi({ description: "Index of the audit log entry (GET /v1/log/proof/inclusion)" }),
      decision: z.object({
        action: z.enum(["allow", "review", "block"]),
        categories: z.array(z.string()),
        policy: z.object({ id: z.string(), hash: z.string() }),
      }),
      model: z.object({ id: z.string(), version: z.string() }),
      backend: z.string(),
      licence: z.record(z.string(), z.unknown()).optional().openapi({
        description:
          "The licence audit: the model's licence, the use it was checked for (the tenant's declaration), the verdict with its reasons and obligations, and the output terms",
      }),
      placeholder: z.boolean().openapi({
        description:
          "True when the embedded procedural placeholder drew the image (not a generative model).",
      }),
      images: z.array(
        z.object({
          sha256: z.string(),
          media_type: z.string(),
          width: z.number(),
          height: z.number(),
          seed: z.number(),
          marks: z.array(z.unknown()),
        }),
      ),
      stages: z.array(StageSchema),
    }),
  })
  .openapi("ImageGenerationResponse");

/** 202: accepted for later delivery (async job, or held for review). */
export const GenerationAcceptedSchema = z
  .object({
    id: z.string().uuid(),
    object: z.literal("generation"),
    status: z.enum(["queued", "held"]),
    location: z.string(),
  })
  .openapi("GenerationAccepted");

export function registerImagesGenerations(
  app: OpenAPIHono<AppEnv>,
  deps: { pipeline: PipelineDeps; limits: GenerationLimits; db: Db; delivery?: Delivery },
): void {
  const route = createRoute({
    method: "post",
    path: "/v1/images/generations",
    summary: "Generate images, screened, marked and audited",
    security: [{ bearerAuth: [] }],
    request: {
      body: {
        required: true,
        content: { "application/json": { schema: generationRequestSchema(deps.limits) } },
      },
    },
    responses: {
      200: {
        description: "The images (with `stream: true`: Server-Sent Events, docs/backends.md)",
        content: {
          "application/json": { schema: GenerationResponseSchema },
          "text/event-stream": { schema: streamEventSchema(GenerationResponseSchema) },
        },
      },
      202: {
        description: "Accepted: queued for a worker (async), or held for review; poll the Location",
        content: { "application/json": { schema: GenerationAcceptedSchema } },
      },
      ...errorResponses,
      ...modelErrorResponses,
    },
  });

  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    const dims = requestedSize(body.size, deps.limits);
    const wantsAsync =
      body.hallmark_async === true ||
      /(^|[\s,])respond-async\b/i.test(c.req.header("prefer") ?? "");
    if ((wantsAsync || body.hallmark_webhook_url !== undefined) && !deps.delivery) {
      throw new HallmarkError("stage_unavailable", "Asynchronous delivery is not configured.");
    }
    const webhookUrl =
      body.hallmark_webhook_url === undefined
        ? undefined
        : await deps.delivery!.checkWebhookUrl(body.hallmark_webhook_url);
    // An Idempotency-Key fixes the generation id, so a retry can never record a second one.
    const id = c.get("idempotency")?.generationId;
    const request = { id, ...requestFields(c.get("principal"), body, dims) };
    if (body.stream === true) {
      // A stream is answered while it runs: it cannot be queued, nor stored for replays.
      if (wantsAsync || id !== undefined) {
        throw new HallmarkError(
          "invalid_request_error",
          `stream cannot be combined with ${wantsAsync ? "asynchronous delivery" : "Idempotency-Key"}.`,
          { param: "stream" },
        );
      }
      const held = { ...request, allowHold: deps.delivery !== undefined };
      return streamGeneration(
        c,
        { pipeline: deps.pipeline, delivery: deps.delivery, toBody: generationResponse },
        (signal, options) => generateImages(deps.pipeline, held, signal, options),
        webhookUrl,
      );
    }
    if (wantsAsync) {
      const jobId = id ?? randomUUID();
      await deps.delivery!.submit({ id: jobId, request: { ...request, id: jobId }, webhookUrl });
      const location = `/v1/generations/${jobId}`;
      c.header("Location", location);
      c.header("Preference-Applied", "respond-async");
      c.header("x-hallmark-generation-id", jobId);
      return c.json(
        { id: jobId, object: "generation" as const, status: "queued" as const, location },
        202,
      );
    }
    const result = await generateImages(
      deps.pipeline,
      { ...request, allowHold: deps.delivery !== undefined },
      requestSignal(c),
    );
    return answerResult(c, deps.delivery, request.principal, result, webhookUrl);
  });
}

/** The output size asked for (or the default); one not configured is 400 `invalid_size`. */
export function requestedSize(
  size: string | undefined,
  limits: Pick<GenerationLimits, "sizes" | "defaultSize">,
): { width: number; height: number } {
  const wanted = size ?? limits.defaultSize;
  const dims = limits.sizes.includes(wanted) ? parseSize(wanted) : null;
  if (!dims) {
    throw new HallmarkError(
      "invalid_size",
      `Unsupported size '${wanted}'; supported sizes are ${limits.sizes.join(", ")}.`,
      { param: "size" },
    );
  }
  return dims;
}

/**
 * The answer to a finished generation or edit: held for review, 202 with the Location to poll
 * (made and recorded, kept sealed, never returned until approved); else 200 with the images.
 */
export async function answerResult(
  c: Context<AppEnv>,
  delivery: Delivery | undefined,
  principal: Principal,
  result: GenerationResult,
  webhookUrl: string | undefined,
) {
  if (result.held) {
    const held = await keepHeld(delivery!, principal, result, webhookUrl);
    c.header("Location", held.location);
    c.header("x-hallmark-generation-id", result.id);
    return c.json(held, 202);
  }
  c.header("Server-Timing", serverTiming(result.stages));
  c.header("x-hallmark-generation-id", result.id);
  c.set("delivered", deliveredOf(result));
  return c.json(generationResponse(result), 200);
}

/** The fields of a generation or an edit request that both routes read alike from their body. */
export function requestFields(
  principal: Principal,
  body: {
    prompt: string;
    negative_prompt?: string;
    n?: number;
    seed?: number;
    output_format?: OutputFormat;
    output_compression?: number;
    model?: string;
    user?: string;
  },
  dims: { width: number; height: number },
) {
  return {
    principal,
    prompt: body.prompt,
    negativePrompt: body.negative_prompt,
    n: body.n ?? 1,
    width: dims.width,
    height: dims.height,
    seed: body.seed,
    outputFormat: body.output_format ?? "png",
    // Compression applies to the lossy formats only.
    quality:
      body.output_format && body.output_format !== "png" ? body.output_compression : undefined,
    model: body.model,
    endUser: body.user,
  };
}

/** The 200 body of a generation or an edit, as OpenAI shapes it plus Hallmark's own block. */
/** The decision and marks of a delivered generation, as `generationResponse` states them. */
export function deliveredOf(result: GenerationResult): Delivered {
  return {
    action: result.decision.action,
    categories: [...result.decision.fired],
    marks: result.images.map((i) => [...i.marks]),
  };
}

export function generationResponse(result: GenerationResult) {
  return {
    created: result.created,
    data: result.images.map((i) => ({ b64_json: i.bytes.toString("base64") })),
    hallmark: {
      generation_id: result.id,
      log_index: result.logIndex,
      decision: {
        action: result.decision.action,
        categories: result.decision.fired,
        policy: result.decision.policy,
      },
      model: result.model,
      backend: result.backend,
      placeholder: result.placeholder,
      ...(result.licence ? { licence: result.licence } : {}),
      images: result.images.map((i) => ({
        sha256: i.sha256,
        media_type: i.mediaType,
        width: i.width,
        height: i.height,
        seed: i.seed,
        marks: i.marks,
      })),
      stages: result.stages,
    },
  };
}
