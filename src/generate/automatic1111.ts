import { z } from "zod";
import { HallmarkError } from "../errors/index.js";
import type {
  EditInput,
  GeneratedImage,
  GenerateInput,
  GenerateOutput,
  Generator,
} from "./types.js";
import { readUpstreamJson, requestUpstream } from "./upstream-http.js";
import { decodeUpstreamImage } from "./upstream-image.js";

export interface Automatic1111Options {
  /** Base URL of the AUTOMATIC1111/Forge web UI started with --api, e.g. http://gpu-1:7860. */
  url: string;
  /** Largest image (pixels) accepted back from the upstream. */
  maxPixels: number;
  steps?: number;
  cfgScale?: number;
  sampler?: string;
  /** img2img `denoising_strength` when the request gives none (A1111's own default is 0.75). */
  denoisingStrength?: number;
  /** Model name used when the request names none (reported as the model id). */
  defaultModel?: string;
  fetch?: typeof fetch;
}

const LABEL = "AUTOMATIC1111";

/** The fields of `POST /sdapi/v1/txt2img` and `/img2img` answers that Hallmark reads. */
const imagesResponse = z.object({
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
 * The AUTOMATIC1111 / Forge backend, over its HTTP API (`POST /sdapi/v1/txt2img` and
 * `/sdapi/v1/img2img`, as described by the web UI's /docs). Images come back as base64 PNG; each
 * is checked to be a real image of the requested size before it goes further.
 *
 * @example
 * const g = createAutomatic1111Generator({ url: "http://gpu-1:7860", maxPixels: 4_194_304 });
 */
export function createAutomatic1111Generator(options: Automatic1111Options): Generator {
  const base = options.url.replace(/\/$/, "");
  const doFetch = options.fetch ?? fetch;
  const defaultModel = options.defaultModel ?? "automatic1111-default";

  async function call(path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    const response = await requestUpstream({
      fetch: doFetch,
      label: LABEL,
      url: `${base}${path}`,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    return readUpstreamJson(response, LABEL, signal);
  }

  function common(input: GenerateInput) {
    return {
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
  }

  async function run(
    path: string,
    request: ReturnType<typeof common> & Record<string, unknown>,
    input: GenerateInput,
    signal: AbortSignal,
  ): Promise<GenerateOutput> {
    const parsed = imagesResponse.safeParse(await call(path, request, signal));
    if (!parsed.success) {
      throw new HallmarkError(
        "backend_error",
        `The ${LABEL} backend sent an unexpected response shape.`,
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
        ...(request.denoising_strength !== undefined
          ? { denoising_strength: request.denoising_strength }
          : {}),
      },
    };
  }

  return {
    name: "automatic1111",
    defaultModel,
    editCapabilities: { mask: true, maxImages: 1, strength: true },
    generate(input: GenerateInput, signal: AbortSignal): Promise<GenerateOutput> {
      return run("/sdapi/v1/txt2img", common(input), input, signal);
    },
    /** img2img: the input image (and mask, for inpainting) as base64, per A1111's API. */
    edit(input: EditInput, signal: AbortSignal): Promise<GenerateOutput> {
      const request = {
        ...common(input),
        init_images: [input.image.toString("base64")],
        denoising_strength: input.strength ?? options.denoisingStrength ?? 0.75,
        ...(input.mask ? { mask: input.mask.toString("base64"), inpainting_fill: 1 } : {}),
      };
      return run("/sdapi/v1/img2img", request, input, signal);
    },
    async health(signal = AbortSignal.timeout(5000)) {
      await call("/sdapi/v1/options", undefined, signal);
    },
  };
}
