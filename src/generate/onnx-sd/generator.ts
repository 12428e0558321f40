import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { HallmarkError } from "../../errors/index.js";
import type {
  EditInput,
  GeneratedImage,
  GenerateInput,
  GenerateOutput,
  Generator,
} from "../types.js";
import { loadOnnxSdOnThread } from "./on-thread.js";
import { type LoadOptions, loadOnnxSd, type OnnxSdModel, type SdImage } from "./pipeline.js";
import { SAMPLERS, type SamplerName } from "./schedulers.js";

export interface OnnxSdGeneratorOptions extends LoadOptions {
  /** The export folder (model_index.json, unet/, text_encoder/, vae_decoder/, …). */
  dir: string;
  /** Backend name reported in responses (default `onnx-sd`). */
  backend?: string;
  /** Model id reported and licence-checked (default: the folder's name). */
  modelId?: string;
  /** Denoising steps per image (default 25). */
  steps?: number;
  /** Default: from scheduler_config.json's class (Euler ancestral, Euler or DDIM), else euler_a. */
  sampler?: SamplerName;
  /** Classifier-free guidance scale (default 7.5; ≤ 1 turns guidance off, as Turbo models want). */
  guidanceScale?: number;
  /** img2img strength when the request gives none (default 0.75). */
  strength?: number;
  /**
   * `request` (default): denoise at the requested size (rounded down to the VAE's multiple of 8
   * and resized back). `native`: denoise at the model's training resolution and resize to the
   * requested size with sharp (the embedded model, which is only ever 32×32).
   */
  resolution?: "request" | "native";
  /**
   * `thread` (default): the sessions load and run on a worker thread of the generator's own
   * (on-thread.ts), because onnxruntime-node runs models synchronously on the calling thread and
   * would hold the event loop for the whole denoising loop. `event-loop`: in process (tests,
   * comparisons).
   */
  runOn?: "thread" | "event-loop";
}

/** What a backend can do, for callers that choose among backends. */
export interface GeneratorCapabilities {
  txt2img: boolean;
  img2img: boolean;
  inpaint: boolean;
  /** Output sizes: any size (resized), generated at `nativeSize` when set. */
  nativeSize: number | null;
  maxBatch: number;
  samplers: readonly SamplerName[];
}

export interface OnnxSdGenerator extends Generator {
  readonly capabilities: GeneratorCapabilities;
  readonly model: OnnxSdModel;
  close(): Promise<void>;
}

const SCHEDULER_CLASSES: Record<string, SamplerName> = {
  EulerAncestralDiscreteScheduler: "euler_a",
  EulerDiscreteScheduler: "euler",
  DDIMScheduler: "ddim",
};

/**
 * A `Generator` over a Stable Diffusion ONNX export folder (see pipeline.ts for the layout).
 * Images come back as PNG at exactly the requested size; `parameters` records the steps, sampler,
 * guidance, the resolution actually denoised and whether sharp resized it.
 */
export async function createOnnxSdGenerator(
  options: OnnxSdGeneratorOptions,
): Promise<OnnxSdGenerator> {
  const load: LoadOptions = {
    executionProvider: options.executionProvider,
    intraOpNumThreads: options.intraOpNumThreads,
  };
  const model =
    options.runOn === "event-loop"
      ? await loadOnnxSd(options.dir, load)
      : await loadOnnxSdOnThread(options.dir, load);
  const schedulerClass = await readFile(
    path.join(options.dir, "scheduler/scheduler_config.json"),
    "utf8",
  )
    .then((s) => (JSON.parse(s) as { _class_name?: string })._class_name)
    .catch(() => undefined);
  const sampler: SamplerName =
    options.sampler ?? SCHEDULER_CLASSES[schedulerClass ?? ""] ?? "euler_a";
  // A refused configuration releases the sessions (and ends their thread) before it throws.
  const refuse = async (message: string): Promise<never> => {
    await model.release().catch(() => {});
    throw new HallmarkError("config_error", message);
  };
  if (!SAMPLERS.includes(sampler)) await refuse(`Unknown sampler "${sampler}".`);
  const steps = options.steps ?? 25;
  const guidanceScale = options.guidanceScale ?? 7.5;
  const modelId = options.modelId ?? path.basename(path.resolve(options.dir));
  const version = `sha256:${(await sha256File(path.join(options.dir, "unet/model.onnx"))).slice(0, 16)}`;
  const backend = options.backend ?? "onnx-sd";
  const resolution = options.resolution ?? "request";
  if (resolution === "native" && model.nativeSize === null) {
    await refuse(`${options.dir}: native resolution needs unet/config.json with sample_size.`);
  }

  /** The size denoised for a requested output size. */
  function workingSize(width: number, height: number): { w: number; h: number } {
    if (resolution === "native") {
      const s = model.nativeSize as number;
      return { w: s, h: s };
    }
    const f = model.vaeScaleFactor;
    return {
      w: Math.max(f, Math.floor(width / f) * f),
      h: Math.max(f, Math.floor(height / f) * f),
    };
  }

  async function encode(image: SdImage, width: number, height: number): Promise<GeneratedImage> {
    let pipeline = sharp(Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.length), {
      raw: { width: image.width, height: image.height, channels: 3 },
    });
    if (image.width !== width || image.height !== height) {
      pipeline = pipeline.resize(width, height, { fit: "fill", kernel: "lanczos3" });
    }
    const bytes = await pipeline.png({ compressionLevel: 3 }).toBuffer();
    return { bytes, mediaType: "image/png", width, height, seed: image.seed };
  }

  async function make(
    input: GenerateInput,
    signal: AbortSignal,
    init?: { image: Buffer; strength: number; mask?: Buffer },
  ): Promise<GenerateOutput> {
    const { w, h } = workingSize(input.width, input.height);
    let initRgb: Uint8Array | undefined;
    let maskAtWork: Uint8Array | undefined;
    if (init && (init.strength < 1 || init.mask)) {
      try {
        initRgb = await sharp(init.image)
          .removeAlpha()
          .resize(w, h, { fit: "fill" })
          .raw()
          .toBuffer();
      } catch {
        throw new HallmarkError("invalid_image", "The input image could not be decoded.", {
          param: "image",
        });
      }
      if (init.mask) maskAtWork = await greyMask(init.mask, w, h);
    }
    const started = Date.now();
    let images: SdImage[];
    if (initRgb && init && init.strength <= 0) {
      // Strength 0: nothing to denoise; the input comes back (at the requested size).
      images = Array.from({ length: input.n }, (_, i) => ({
        rgb: initRgb as Uint8Array,
        width: w,
        height: h,
        seed: input.seed + i,
      }));
    } else {
      images = await model.run(
        {
          prompt: input.prompt,
          negativePrompt: input.negativePrompt,
          width: w,
          height: h,
          n: input.n,
          seed: input.seed,
          steps,
          sampler,
          guidanceScale,
          init:
            initRgb && init
              ? {
                  rgb: initRgb,
                  strength: init.strength,
                  ...(maskAtWork ? { mask: maskAtWork } : {}),
                }
              : undefined,
          onStep: progressOf(input),
        },
        signal,
      );
    }
    const encoded: GeneratedImage[] = [];
    // Inpainting: the kept area is the input's own pixels at the output size, not their round
    // trip through the VAE (and, for a model that denoises small, through the upscaler).
    const keep = init?.mask
      ? await keptPixels(init.image, init.mask, input.width, input.height)
      : null;
    for (const image of images) {
      signal.throwIfAborted();
      const out = await encode(image, input.width, input.height);
      encoded.push(keep ? { ...out, bytes: await composite(out.bytes, keep) } : out);
    }
    return {
      images: encoded,
      model: { id: input.model ?? modelId, version },
      backend,
      placeholder: false,
      parameters: {
        steps,
        sampler,
        guidance_scale: guidanceScale,
        scheduler: schedulerClass ?? null,
        prediction_type: model.scheduler.predictionType,
        native_resolution: `${w}x${h}`,
        upscaled: w !== input.width || h !== input.height,
        execution_provider: model.executionProvider,
        denoise_ms: Date.now() - started,
        ...(init ? { strength: init.strength } : {}),
        ...(init?.mask ? { inpainting: "latent-blend" } : {}),
      },
    };
  }

  return {
    name: backend,
    defaultModel: modelId,
    model,
    capabilities: {
      txt2img: true,
      img2img: model.canImg2Img,
      inpaint: model.canImg2Img,
      nativeSize: resolution === "native" ? model.nativeSize : null,
      maxBatch: 16,
      samplers: SAMPLERS,
    },
    generate(input: GenerateInput, signal: AbortSignal): Promise<GenerateOutput> {
      return make(input, signal);
    },
    ...(model.canImg2Img
      ? {
          editCapabilities: { mask: true, maxImages: 1, strength: true },
          async edit(input: EditInput, signal: AbortSignal): Promise<GenerateOutput> {
            const strength = input.strength ?? options.strength ?? 0.75;
            if (!(strength >= 0 && strength <= 1)) {
              throw new HallmarkError("invalid_request_error", "strength must be from 0 to 1.", {
                param: "strength",
              });
            }
            return make(input, signal, {
              image: input.image,
              strength,
              ...(input.mask ? { mask: input.mask } : {}),
            });
          },
        }
      : {}),
    async health() {
      // The sessions are loaded; one tokenizer pass proves the vocabulary is usable.
      model.tokenizer.encode("health");
    },
    close: () => model.release(),
  };
}

/** The mask as one byte a pixel at width × height (255 = repaint). */
async function greyMask(mask: Buffer, width: number, height: number): Promise<Uint8Array> {
  try {
    return await sharp(mask)
      .flatten({ background: "#000000" })
      .greyscale()
      .resize(width, height, { fit: "fill" })
      .extractChannel(0)
      .raw()
      .toBuffer();
  } catch {
    throw new HallmarkError("invalid_image", "The mask could not be decoded.", { param: "mask" });
  }
}

/** The input at the output size with the mask's kept area opaque (alpha = 255 − mask). */
async function keptPixels(image: Buffer, mask: Buffer, width: number, height: number) {
  const rgb = await sharp(image)
    .removeAlpha()
    .resize(width, height, { fit: "fill" })
    .raw()
    .toBuffer();
  const grey = await greyMask(mask, width, height);
  const rgba = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba[p * 4] = rgb[p * 3]!;
    rgba[p * 4 + 1] = rgb[p * 3 + 1]!;
    rgba[p * 4 + 2] = rgb[p * 3 + 2]!;
    rgba[p * 4 + 3] = 255 - grey[p]!;
  }
  return { rgba, width, height };
}

/** The generated PNG with the kept pixels laid over it. */
async function composite(
  png: Buffer,
  keep: { rgba: Buffer; width: number; height: number },
): Promise<Buffer> {
  return sharp(png)
    .composite([{ input: keep.rgba, raw: { width: keep.width, height: keep.height, channels: 4 } }])
    .png({ compressionLevel: 3 })
    .toBuffer();
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The pipeline's per-step callback for a request that asked for progress (a throw is ignored). */
function progressOf(input: GenerateInput): ((done: number, total: number) => void) | undefined {
  const onProgress = input.onProgress;
  if (!onProgress) return undefined;
  return (step, steps) => {
    try {
      onProgress({ step, steps });
    } catch {
      // A progress listener must never fail the generation it reports on.
    }
  };
}
