import sharp from "sharp";
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

export interface OpenAIImagesOptions {
  /** Base URL without /v1, e.g. https://api.openai.com or http://vllm-1:8000. */
  url: string;
  /** Sent as `Authorization: Bearer …` when set. Never logged or echoed in errors. */
  apiKey?: string;
  /** The upstream model id used when the request names none, e.g. "gpt-image-1" or "dall-e-3". */
  model: string;
  /** Largest image (pixels) accepted back from the upstream. */
  maxPixels: number;
  fetch?: typeof fetch;
}

const LABEL = "OpenAI-compatible";

/**
 * The answer of `POST /v1/images/generations` and `/v1/images/edits` with
 * `response_format: "b64_json"` (https://platform.openai.com/docs/api-reference/images/object).
 */
const imagesResponse = z.object({
  created: z.number().optional(),
  data: z.array(z.object({ b64_json: z.string(), revised_prompt: z.string().optional() })).min(1),
});

/** OpenAI's error body: `{ "error": { "message", "type", "param", "code" } }`. */
const errorBody = z.object({
  error: z.object({ code: z.string().nullable().optional(), type: z.string().optional() }),
});

/**
 * Any service that speaks OpenAI's Images API (OpenAI itself, Azure-style proxies, LocalAI,
 * vLLM-style servers): `POST {url}/v1/images/generations` with OpenAI's request shape, images
 * returned inline as base64 and checked like every other backend's. The API has no seed or
 * negative prompt, so the seed Hallmark records is its own and the negative prompt is not sent
 * (both are noted in `parameters`). An upstream content-policy refusal becomes Hallmark's
 * `content_policy_violation`; refused credentials become `backend_error` (an operator problem,
 * not the caller's).
 *
 * @example
 * const g = createOpenAIImagesGenerator({ url: "https://api.openai.com", apiKey, model: "gpt-image-1", maxPixels: 4_194_304 });
 */
export function createOpenAIImagesGenerator(options: OpenAIImagesOptions): Generator {
  const base = options.url.replace(/\/$/, "").replace(/\/v1$/, "");
  const doFetch = options.fetch ?? fetch;
  const auth: Record<string, string> = options.apiKey
    ? { authorization: `Bearer ${options.apiKey}` }
    : {};

  function mapError(status: number, text: string): HallmarkError | undefined {
    let code: string | null | undefined;
    try {
      code = errorBody.parse(JSON.parse(text)).error.code;
    } catch {
      code = undefined;
    }
    if (status === 400 && code === "content_policy_violation") {
      return new HallmarkError(
        "content_policy_violation",
        `The ${LABEL} backend refused the prompt under its own content policy.`,
      );
    }
    if (status === 401 || status === 403) {
      return new HallmarkError(
        "backend_error",
        `The ${LABEL} backend refused Hallmark's credentials (HTTP ${status}).`,
      );
    }
    return undefined;
  }

  async function run(
    path: string,
    body: string | FormData,
    input: GenerateInput,
    signal: AbortSignal,
  ): Promise<GenerateOutput> {
    const response = await requestUpstream({
      fetch: doFetch,
      label: LABEL,
      url: `${base}${path}`,
      method: "POST",
      headers: typeof body === "string" ? { ...auth, "content-type": "application/json" } : auth,
      body,
      signal,
      mapError,
    });
    const parsed = imagesResponse.safeParse(await readUpstreamJson(response, LABEL, signal));
    if (!parsed.success) {
      throw new HallmarkError(
        "backend_error",
        `The ${LABEL} backend sent an unexpected response shape.`,
      );
    }
    const images: GeneratedImage[] = [];
    for (const [i, item] of parsed.data.data.slice(0, input.n).entries()) {
      images.push(
        await decodeUpstreamImage(item.b64_json, input, input.seed + i, options.maxPixels),
      );
    }
    if (images.length < input.n) {
      throw new HallmarkError(
        "backend_error",
        `The backend returned ${images.length} of ${input.n} images.`,
      );
    }
    const revised = parsed.data.data.map((d) => d.revised_prompt).filter((p) => p !== undefined);
    return {
      images,
      model: { id: input.model ?? options.model, version: "unknown" },
      backend: "openai",
      placeholder: false,
      parameters: {
        seedHonoured: false,
        ...(input.negativePrompt ? { negativePromptIgnored: true } : {}),
        ...(revised.length > 0 ? { revised_prompt: revised[0] } : {}),
      },
    };
  }

  return {
    name: "openai",
    defaultModel: options.model,
    // OpenAI's edits take up to 16 images (gpt-image-1) and a mask; it has no strength parameter.
    editCapabilities: { mask: true, maxImages: 16, strength: false },
    generate(input: GenerateInput, signal: AbortSignal): Promise<GenerateOutput> {
      const body = {
        model: input.model ?? options.model,
        prompt: input.prompt,
        n: input.n,
        size: `${input.width}x${input.height}`,
        response_format: "b64_json",
      };
      return run("/v1/images/generations", JSON.stringify(body), input, signal);
    },
    /**
     * `POST /v1/images/edits`, multipart as OpenAI shapes it: `image` (or `image[]` for several),
     * optional `mask` in OpenAI's form (a PNG whose fully transparent pixels are edited), prompt,
     * n, size. OpenAI has no strength parameter (`editCapabilities.strength` is false).
     * A variation goes to `POST /v1/images/variations` instead.
     */
    async edit(input: EditInput, signal: AbortSignal): Promise<GenerateOutput> {
      const form = new FormData();
      const png = (bytes: Buffer) => new Blob([new Uint8Array(bytes)], { type: "image/png" });
      if (input.variation) {
        // `POST /v1/images/variations`: one image, model, n, size; no prompt, no mask.
        form.append("image", png(input.image), "image.png");
        form.set("model", input.model ?? options.model);
        form.set("n", String(input.n));
        form.set("size", `${input.width}x${input.height}`);
        form.set("response_format", "b64_json");
        return run("/v1/images/variations", form, input, signal);
      }
      const all = [input.image, ...(input.references ?? [])];
      if (all.length === 1) form.append("image", png(input.image), "image.png");
      else
        for (const [i, bytes] of all.entries())
          form.append("image[]", png(bytes), `image-${i}.png`);
      if (input.mask) form.append("mask", png(await toOpenAIMask(input.mask)), "mask.png");
      form.set("model", input.model ?? options.model);
      form.set("prompt", input.prompt);
      form.set("n", String(input.n));
      form.set("size", `${input.width}x${input.height}`);
      form.set("response_format", "b64_json");
      return run("/v1/images/edits", form, input, signal);
    },
    async health(signal = AbortSignal.timeout(5000)) {
      const response = await requestUpstream({
        fetch: doFetch,
        label: LABEL,
        url: `${base}/v1/models`,
        headers: auth,
        signal,
        mapError,
      });
      await response.body?.cancel();
    },
  };
}

/**
 * Hallmark's mask (greyscale, white = repaint) in OpenAI's form: an RGBA PNG that is transparent
 * (alpha 0) where the image is to be edited and opaque elsewhere.
 */
export async function toOpenAIMask(mask: Buffer): Promise<Buffer> {
  const { data, info } = await sharp(mask)
    .toColourspace("b-w")
    .raw()
    .toBuffer({ resolveWithObject: true });
  const rgba = Buffer.alloc(info.width * info.height * 4);
  for (let p = 0; p < info.width * info.height; p++) {
    const edit = data[p * info.channels]! >= 128;
    rgba[p * 4 + 3] = edit ? 0 : 255;
  }
  return sharp(rgba, { raw: { width: info.width, height: info.height, channels: 4 } })
    .png()
    .toBuffer();
}
