import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { HallmarkError } from "../../errors/index.js";
import { type VerifyDeps, verifyImage } from "../../pipeline/index.js";
import type { AppEnv } from "../context.js";
import { requireMediaType } from "../middleware/require-media-type.js";
import { errorResponses } from "../openapi.js";

const IMAGE_TYPES = [
  "image/png",
  "image/jpeg",
  "image/webp",
  "image/gif",
  "image/tiff",
  "image/avif",
  "image/heif",
  "application/octet-stream",
];

const BINARY = { type: "string" as const, format: "binary" };

export const VerifyResponseSchema = z
  .object({
    sha256: z.string(),
    media_type: z.string(),
    width: z.number(),
    height: z.number(),
    produced_here: z.boolean(),
    generations: z.array(
      z.object({
        generation_id: z.string(),
        created_at: z.string(),
        model: z.string(),
        image_index: z.number(),
      }),
    ),
    watermark: z
      .object({ detected: z.boolean(), mark_id: z.string().nullable(), known: z.boolean() })
      .passthrough()
      .nullable(),
    durable_credentials: z
      .object({ generation_id: z.string(), manifest_base64: z.string().nullable() })
      .passthrough()
      .nullable(),
    similar: z.array(
      z.object({ generation_id: z.string(), image_index: z.number(), distance: z.number() }),
    ),
    c2pa: z
      .object({
        present: z.boolean(),
        validation_state: z.enum(["Invalid", "Valid", "Trusted"]).nullable(),
        failures: z.array(
          z.object({ code: z.string(), explanation: z.string().optional() }).passthrough(),
        ),
        signed_by_this_gateway: z.boolean(),
        ai_generated: z.boolean(),
      })
      .passthrough()
      .nullable(),
    checks: z.array(
      z.object({
        name: z.string(),
        status: z.enum(["applied", "absent"]),
        note: z.string().optional(),
      }),
    ),
  })
  .openapi("VerifyResponse");

/**
 * `POST /v1/provenance/verify`: anyone may ask what an image carries. The body is the raw image
 * (any image/* or application/octet-stream) or multipart/form-data with the image in `file`.
 */
export function registerProvenanceVerify(app: OpenAPIHono<AppEnv>, deps: VerifyDeps): void {
  const path = "/v1/provenance/verify";
  app.use(path, requireMediaType(["image/", "application/octet-stream", "multipart/form-data"]));
  const route = createRoute({
    method: "post",
    path,
    summary: "What an image carries: was it made here, by which generation",
    request: {
      body: {
        required: true,
        // Plain OpenAPI schemas, not zod: the bytes are checked by verifyImage and the media
        // type by requireMediaType above, so the route needs no body validator.
        content: {
          ...Object.fromEntries(IMAGE_TYPES.map((t) => [t, { schema: BINARY }])),
          "multipart/form-data": {
            schema: { type: "object" as const, properties: { file: BINARY }, required: ["file"] },
          },
        },
      },
    },
    responses: {
      200: {
        description: "Verdict",
        content: { "application/json": { schema: VerifyResponseSchema } },
      },
      ...errorResponses,
    },
  });
  app.openapi(route, async (c) => {
    const type = c.req.header("content-type") ?? "";
    let bytes: Uint8Array;
    if (type.startsWith("multipart/form-data")) {
      let form: FormData;
      try {
        form = await c.req.raw.formData();
      } catch {
        throw new HallmarkError("invalid_request_error", "The multipart body cannot be parsed.");
      }
      const file = form.get("file");
      if (!(file instanceof Blob)) {
        throw new HallmarkError(
          "invalid_request_error",
          "Send the image in the multipart field 'file'.",
          {
            param: "file",
          },
        );
      }
      bytes = new Uint8Array(await file.arrayBuffer());
    } else {
      bytes = new Uint8Array(await c.req.arrayBuffer());
    }
    return c.json(await verifyImage(deps, bytes), 200);
  });
}
