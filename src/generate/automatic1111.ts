import sharp, { type Metadata } from "sharp";
import { z } from "zod";
import { HallmarkError } from "../errors/index.js";
import type { GeneratedImage, GenerateInput, GenerateOutput, Generator } from "./types.js";

export interface Automatic1111Options {
  /** Base URL of the AUTOMATIC1111/Forge web UI started with --api, e.g. http://gpu-1:7860. */
  url: string;
  /** Largest image (pixels) accepted back from the upstream. */
  maxPixels: number;
  steps?: number;
  cfgScale?: number;
  sampler?: string;
  /** Model name used when the request names none (reported as the model id). */
  defaultModel?: string;
  fetch?: typeof fetch;
}

/** The fields of `POST /sdapi/v1/txt2img`'s answer that Hallmark reads. */
const txt2imgResponse = z.object({
  images: z.array(z.string()).min(1),
  parameters: z.record(z.string(), z.unknown()).optional(),
  info: z.string().optional(),
});

const infoSchema = z
  .object({
    seed: z.number().optional(),
    all_seeds: z.array(z.number()).optional(),
    sd_model_name: z.string().nullable().optional(),
    sd_model_hash: z.string().nullable().optional(),
  })
  .passthrough();

/**
 * The AUTOMATIC1111 / Forge backend, over its HTTP API (`POST /sdapi/v1/txt2img`, as described by
 * the web UI's /docs). Images come back as base64 PNG; each is checked to be a real image of the
 * requested size before it goes further.
 */
export function createAutomatic1111Generator(options: Automatic1111Options): Generator {
  const base = options.url.replace(/\/$/, "");
  const doFetch = options.fetch ?? fetch;
  const defaultModel = options.defaultModel ?? "automatic1111-default";

  async function call(path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new HallmarkError(
        "backend_unavailable",
        "The AUTOMATIC1111 backend cannot be reached.",
        {
          cause: error,
        },
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new HallmarkError(
        "backend_error",
        `The AUTOMATIC1111 backend answered HTTP ${response.status}.`,
      );
    }
    try {
      return await response.json();
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw new HallmarkError(
        "backend_error",
        "The AUTOMATIC1111 backend sent a body that is not JSON.",
        {
          cause: error,
        },
      );
    }
  }

  return {
    name: "automatic1111",
    defaultModel,
    async generate(input: GenerateInput, signal: AbortSignal): Promise<GenerateOutput> {
      const request = {
        prompt: input.prompt,
        negative_prompt: input.negativePrompt ?? "",
        seed: input.seed,
        width: input.width,
        height: input.height,
        batch_size: input.n,
        n_iter: 1,
        steps: options.steps ?? 20,
        cfg_scale: options.cfgScale ?? 7,
        sampler_name: options.sampler ?? "Euler a",
        send_images: true,
        save_images: false,
        ...(input.model ? { override_settings: { sd_model_checkpoint: input.model } } : {}),
      };
      const parsed = txt2imgResponse.safeParse(await call("/sdapi/v1/txt2img", request, signal));
      if (!parsed.success) {
        throw new HallmarkError(
          "backend_error",
          "The AUTOMATIC1111 backend sent an unexpected response shape.",
        );
      }
      let info: z.infer<typeof infoSchema> = {};
      try {
        info = infoSchema.parse(JSON.parse(parsed.data.info ?? "{}"));
      } catch {
        // `info` is informational; a backend that omits or mangles it still delivered images.
      }
      const seeds = info.all_seeds ?? [];
      // A1111 may append extra images (grids, control maps); keep the first n.
      const encoded = parsed.data.images.slice(0, input.n);
      const images: GeneratedImage[] = [];
      for (const [i, b64] of encoded.entries()) {
        images.push(
          await decodeUpstreamImage(b64, input, seeds[i] ?? input.seed + i, options.maxPixels),
        );
      }
      if (images.length < input.n) {
        throw new HallmarkError(
          "backend_error",
          `The backend returned ${images.length} of ${input.n} images.`,
        );
      }
      return {
        images,
        model: {
          id: input.model ?? info.sd_model_name ?? defaultModel,
          version: info.sd_model_hash ?? "unknown",
        },
        backend: "automatic1111",
        placeholder: false,
        parameters: {
          steps: request.steps,
          cfg_scale: request.cfg_scale,
          sampler: request.sampler_name,
        },
      };
    },
    async health(signal = AbortSignal.timeout(5000)) {
      await call("/sdapi/v1/options", undefined, signal);
    },
  };
}

async function decodeUpstreamImage(
  b64: string,
  input: GenerateInput,
  seed: number,
  maxPixels: number,
): Promise<GeneratedImage> {
  const bytes = Buffer.from(b64.replace(/^data:image\/\w+;base64,/, ""), "base64");
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
  } catch (error) {
    throw new HallmarkError(
      "backend_error",
      "The backend returned something that is not an image.",
      {
        cause: error,
      },
    );
  }
  const mediaType =
    meta.format === "png" ? "image/png" : meta.format === "jpeg" ? "image/jpeg" : undefined;
  if (!mediaType && meta.format !== "webp") {
    throw new HallmarkError(
      "backend_error",
      `The backend returned an unsupported format (${meta.format}).`,
    );
  }
  if (meta.width !== input.width || meta.height !== input.height) {
    throw new HallmarkError(
      "backend_error",
      `The backend returned ${meta.width}x${meta.height} instead of ${input.width}x${input.height}.`,
    );
  }
  return {
    bytes,
    mediaType: mediaType ?? "image/webp",
    width: input.width,
    height: input.height,
    seed,
  };
}
