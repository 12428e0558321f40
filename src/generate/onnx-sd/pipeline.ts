import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import ort from "onnxruntime-node";
import { HallmarkError } from "../../errors/index.js";
import { type ClipTokenizer, loadClipTokenizer } from "./clip-tokenizer.js";
import { createGaussian } from "./random.js";
import {
  createSampler,
  parseSchedulerConfig,
  type SamplerName,
  type SchedulerConfig,
} from "./schedulers.js";

/**
 * A Stable Diffusion pipeline over the ONNX export folder that Hugging Face optimum
 * (`optimum-cli export onnx`) and diffusers' `convert_stable_diffusion_checkpoint_to_onnx.py`
 * write:
 *
 *   model_index.json
 *   text_encoder/model.onnx   input_ids int32 [batch, seq]   -> last_hidden_state [batch, seq, dim]
 *   unet/model.onnx           sample [batch, c, h, w], timestep (int64 or float, [1] or [batch]),
 *                             encoder_hidden_states [batch, seq, dim] -> out_sample
 *   vae_decoder/model.onnx    latent_sample -> sample [batch, 3, H, W] in [-1, 1]
 *   vae_encoder/model.onnx    sample -> latent_sample (diffusers) or latent_parameters (optimum:
 *                             mean and log-variance; the mean is used)   (img2img only)
 *   tokenizer/vocab.json, merges.txt (+ tokenizer_config.json)
 *   scheduler/scheduler_config.json
 *   <part>/config.json      optional: unet in_channels/sample_size, vae scaling_factor and
 *                             block_out_channels (the VAE's scale factor, 2^(len − 1))
 *
 * Input dtypes are read from the sessions, so int32 or int64 ids and int64 or float timesteps
 * both work; float16 exports are refused with a clear error. Classifier-free guidance runs the
 * unconditional and conditional halves as one UNet batch.
 */
export interface OnnxSdModel {
  readonly dir: string;
  readonly scheduler: SchedulerConfig;
  readonly tokenizer: ClipTokenizer;
  readonly latentChannels: number;
  /** Pixels per latent cell (8 for SD's VAE). */
  readonly vaeScaleFactor: number;
  readonly scalingFactor: number;
  /** The UNet's training resolution in pixels (sample_size × scale factor), when known. */
  readonly nativeSize: number | null;
  /** The execution provider the sessions run on. */
  readonly executionProvider: "cuda" | "cpu";
  readonly canImg2Img: boolean;
  run(request: SdRequest, signal: AbortSignal): Promise<SdImage[]>;
  release(): Promise<void>;
}

export interface SdRequest {
  prompt: string;
  negativePrompt?: string;
  /** Output size in pixels; a multiple of the VAE scale factor. */
  width: number;
  height: number;
  /** Images; image i starts from seed + i. */
  n: number;
  seed: number;
  steps: number;
  sampler: SamplerName;
  /** Classifier-free guidance scale; ≤ 1 skips the unconditional pass (Turbo models). */
  guidanceScale: number;
  eta?: number;
  /**
   * img2img: the starting picture as RGB, already at width × height, and how far to move. With
   * `mask` (width × height, one byte a pixel, 255 = repaint, 0 = keep) it is inpainting with
   * the ordinary UNet: after every step the kept area's latents are put back at that step's
   * noise level, so only the masked area is denoised freely (then strength 1 is allowed).
   */
  init?: { rgb: Uint8Array; strength: number; mask?: Uint8Array };
  /** Called after each denoising step (progress, tests). */
  onStep?: (done: number, total: number) => void;
}

/** One decoded image: RGB, 8 bits per channel, row-major. */
export interface SdImage {
  rgb: Uint8Array;
  width: number;
  height: number;
  seed: number;
}

export interface LoadOptions {
  /** `auto` (CUDA when onnxruntime-node lists it, CPU otherwise), `cuda` or `cpu`. */
  executionProvider?: "auto" | "cuda" | "cpu";
  /** Threads per operator on CPU (0: ONNX Runtime's default). */
  intraOpNumThreads?: number;
}

type Session = ort.InferenceSession;

export async function loadOnnxSd(dir: string, options: LoadOptions = {}): Promise<OnnxSdModel> {
  const readJson = async (rel: string, required: boolean): Promise<Record<string, unknown>> => {
    try {
      return JSON.parse(await readFile(path.join(dir, rel), "utf8")) as Record<string, unknown>;
    } catch (error) {
      if (!required) return {};
      throw new HallmarkError(
        "config_error",
        `Cannot read ${path.join(dir, rel)}: ${String(error)}`,
      );
    }
  };
  await readJson("model_index.json", true);
  const scheduler = parseSchedulerConfig(await readJson("scheduler/scheduler_config.json", false));
  const tokenizer = await loadClipTokenizer(path.join(dir, "tokenizer"));
  const unetConfig = await readJson("unet/config.json", false);
  const vaeConfig = await readJson("vae_decoder/config.json", false);

  const wanted = options.executionProvider ?? "auto";
  const cudaListed = cudaAvailable();
  let provider: "cuda" | "cpu" =
    wanted === "cpu" || (wanted === "auto" && !cudaListed) ? "cpu" : "cuda";
  const open = async (rel: string, ep: "cuda" | "cpu"): Promise<Session> =>
    ort.InferenceSession.create(path.join(dir, rel, "model.onnx"), {
      executionProviders: [ep],
      graphOptimizationLevel: "all",
      ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
    });
  const openAll = async (ep: "cuda" | "cpu") => ({
    text: await open("text_encoder", ep),
    unet: await open("unet", ep),
    decoder: await open("vae_decoder", ep),
  });
  let sessions: { text: Session; unet: Session; decoder: Session };
  try {
    try {
      sessions = await openAll(provider);
    } catch (error) {
      // onnxruntime-node lists CUDA even where its provider library is not installed (this
      // project denies the install script that downloads it): fall back, unless asked for CUDA.
      if (provider !== "cuda" || wanted === "cuda") throw error;
      provider = "cpu";
      sessions = await openAll(provider);
    }
  } catch (error) {
    if (error instanceof HallmarkError) throw error;
    throw new HallmarkError(
      "config_error",
      `Cannot load the ONNX model in ${dir}: ${String(error)}`,
    );
  }
  let encoder: Session | null = null;
  try {
    encoder = await open("vae_encoder", provider);
  } catch {
    // No vae_encoder: txt2img only.
  }
  const { text, unet, decoder } = sessions;

  const meta = (s: Session, name: string) => {
    const m = s.inputMetadata.find((x) => x.name === name);
    if (!m) {
      throw new HallmarkError("config_error", `${dir}: a model lacks the input "${name}".`);
    }
    return m as {
      name: string;
      isTensor: boolean;
      type?: string;
      shape?: readonly (number | string)[];
    };
  };
  const idsType = meta(text, "input_ids").type ?? "int32";
  const timestepType = meta(unet, "timestep").type ?? "float32";
  const sampleMeta = meta(unet, "sample");
  meta(unet, "encoder_hidden_states");
  for (const [what, type] of [
    ["unet sample", sampleMeta.type],
    ["timestep", timestepType],
  ] as const) {
    if (type === "float16") {
      throw new HallmarkError(
        "config_error",
        `${dir}: float16 exports are not supported (${what}); export in float32.`,
      );
    }
  }
  const channelsFromShape =
    typeof sampleMeta.shape?.[1] === "number" ? sampleMeta.shape[1] : undefined;
  const latentChannels =
    (typeof unetConfig.in_channels === "number" ? unetConfig.in_channels : undefined) ??
    channelsFromShape ??
    4;
  const decoderMeta = meta(decoder, "latent_sample");
  const decoderChannels =
    typeof decoderMeta.shape?.[1] === "number" ? decoderMeta.shape[1] : undefined;
  if (decoderChannels !== undefined && decoderChannels !== latentChannels) {
    // An inpainting UNet takes the latents, the mask and the masked image's latents (4 + 1 + 4);
    // this pipeline inpaints by latent blending with an ordinary UNet instead.
    throw new HallmarkError(
      "config_error",
      `${dir}: the UNet takes ${latentChannels} channels but the VAE decoder ${decoderChannels}` +
        (latentChannels === decoderChannels * 2 + 1
          ? " (an inpainting UNet, which is not supported: use the base model's export; it inpaints by latent blending)."
          : "."),
    );
  }
  const blocks = Array.isArray(vaeConfig.block_out_channels)
    ? vaeConfig.block_out_channels.length
    : 4;
  const vaeScaleFactor = 2 ** (blocks - 1);
  const scalingFactor =
    typeof vaeConfig.scaling_factor === "number" ? vaeConfig.scaling_factor : 0.18215;
  const nativeSize =
    typeof unetConfig.sample_size === "number" ? unetConfig.sample_size * vaeScaleFactor : null;

  function idsTensor(rows: number[][]): ort.Tensor {
    const flat = rows.flat();
    const dims = [rows.length, tokenizer.maxLength];
    return idsType === "int64"
      ? new ort.Tensor("int64", BigInt64Array.from(flat.map(BigInt)), dims)
      : new ort.Tensor("int32", Int32Array.from(flat), dims);
  }

  function timestepTensor(t: number): ort.Tensor {
    return timestepType === "int64"
      ? new ort.Tensor("int64", BigInt64Array.of(BigInt(Math.round(t))), [1])
      : timestepType === "int32"
        ? new ort.Tensor("int32", Int32Array.of(Math.round(t)), [1])
        : new ort.Tensor("float32", Float32Array.of(t), [1]);
  }

  async function encodeText(prompts: string[]): Promise<ort.Tensor> {
    const out = await text.run({ input_ids: idsTensor(prompts.map((p) => tokenizer.encode(p))) });
    const hidden = out.last_hidden_state ?? out[text.outputNames[0] as string];
    if (!hidden) throw new HallmarkError("backend_error", "The text encoder gave no output.");
    return hidden;
  }

  async function encodeImage(
    rgb: Uint8Array,
    width: number,
    height: number,
  ): Promise<Float32Array> {
    if (!encoder)
      throw new HallmarkError("invalid_request_error", "This model has no vae_encoder.");
    const plane = width * height;
    const pixels = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) pixels[c * plane + i] = (rgb[i * 3 + c] as number) / 127.5 - 1;
    }
    const out = await encoder.run({
      sample: new ort.Tensor("float32", pixels, [1, 3, height, width]),
    });
    const name = encoder.outputNames[0] as string;
    const latent = out[name] as ort.Tensor;
    const data = latent.data as Float32Array;
    const channels = latent.dims[1] as number;
    const cells = data.length / channels;
    // optimum's latent_parameters carry mean then log-variance: take the mean (the mode).
    const mean = channels === 2 * latentChannels ? data.subarray(0, latentChannels * cells) : data;
    return mean.map((x) => x * scalingFactor);
  }

  async function decode(
    latents: Float32Array,
    n: number,
    h: number,
    w: number,
  ): Promise<ort.Tensor> {
    const scaled = latents.map((x) => x / scalingFactor);
    const out = await decoder.run({
      latent_sample: new ort.Tensor("float32", scaled, [n, latentChannels, h, w]),
    });
    return out[decoder.outputNames[0] as string] as ort.Tensor;
  }

  async function run(req: SdRequest, signal: AbortSignal): Promise<SdImage[]> {
    signal.throwIfAborted();
    const f = vaeScaleFactor;
    if (req.width % f !== 0 || req.height % f !== 0) {
      throw new HallmarkError(
        "invalid_request_error",
        `Width and height must be multiples of ${f} for this model.`,
      );
    }
    const h = req.height / f;
    const w = req.width / f;
    const per = latentChannels * h * w;
    const sampler = createSampler(req.sampler, scheduler, req.steps, { eta: req.eta });
    const cfg = req.guidanceScale > 1;
    const cond = await encodeText(Array(req.n).fill(req.prompt));
    let context = cond;
    if (cfg) {
      const uncond = await encodeText(Array(req.n).fill(req.negativePrompt ?? ""));
      context = new ort.Tensor(
        "float32",
        concat(uncond.data as Float32Array, cond.data as Float32Array),
        [2 * req.n, ...cond.dims.slice(1)],
      );
    }
    const noises = Array.from({ length: req.n }, (_, i) => createGaussian(req.seed + i));
    let start = 0;
    let latents = new Float32Array(req.n * per);
    const strength = req.init?.strength;
    const mask = req.init?.mask;
    const keep = mask ? latentKeep(mask, req.width, req.height, f, latentChannels) : null;
    const initLatent =
      req.init && strength !== undefined && (strength < 1 || keep)
        ? await encodeImage(req.init.rgb, req.width, req.height)
        : null;
    // Each image's starting noise, kept for putting the kept area back at every step.
    const startNoise: Float32Array[] = [];
    for (let i = 0; i < req.n; i++) {
      startNoise.push(noises[i]?.fill(new Float32Array(per)) as Float32Array);
    }
    if (initLatent && strength !== undefined && strength < 1) {
      const initSteps = Math.min(Math.floor(req.steps * strength), req.steps);
      start = req.steps - initSteps;
      for (let i = 0; i < req.n; i++) {
        const noise = startNoise[i] as Float32Array;
        const noised = start < req.steps ? sampler.addNoise(initLatent, noise, start) : initLatent;
        latents.set(noised, i * per);
      }
    } else {
      for (let i = 0; i < req.n; i++) {
        latents.set(
          (startNoise[i] as Float32Array).map((x) => x * sampler.initNoiseSigma),
          i * per,
        );
      }
    }
    const total = req.steps - start;
    for (let s = start; s < req.steps; s++) {
      signal.throwIfAborted();
      const input = sampler.scaleModelInput(latents, s);
      const batch = cfg ? concat(input, input) : input;
      const out = await unet.run({
        sample: new ort.Tensor("float32", batch, [cfg ? 2 * req.n : req.n, latentChannels, h, w]),
        timestep: timestepTensor(sampler.timesteps[s] as number),
        encoder_hidden_states: context,
      });
      const pred = out[unet.outputNames[0] as string]?.data as Float32Array;
      let guided = pred;
      if (cfg) {
        guided = new Float32Array(req.n * per);
        const g = req.guidanceScale;
        for (let k = 0; k < guided.length; k++) {
          const u = pred[k] as number;
          guided[k] = u + g * ((pred[k + req.n * per] as number) - u);
        }
      }
      const next = new Float32Array(req.n * per);
      for (let i = 0; i < req.n; i++) {
        const gen = noises[i] as { next(): number };
        const range = [i * per, (i + 1) * per] as const;
        next.set(
          sampler.step(guided.subarray(...range), s, latents.subarray(...range), gen.next),
          i * per,
        );
      }
      latents = next;
      if (keep && initLatent) {
        for (let i = 0; i < req.n; i++) {
          // The kept area as it would be after this step: the input at the next step's level.
          const known =
            s + 1 < req.steps
              ? sampler.addNoise(initLatent, startNoise[i] as Float32Array, s + 1)
              : initLatent;
          const base = i * per;
          for (let k = 0; k < per; k++) {
            const m = keep[k] as number;
            latents[base + k] = m * (known[k] as number) + (1 - m) * (latents[base + k] as number);
          }
        }
      }
      req.onStep?.(s - start + 1, total);
    }
    signal.throwIfAborted();
    const decoded = await decode(latents, req.n, h, w);
    const pixels = decoded.data as Float32Array;
    const height = decoded.dims[2] as number;
    const width = decoded.dims[3] as number;
    const plane = width * height;
    return Array.from({ length: req.n }, (_, i) => {
      const rgb = new Uint8Array(plane * 3);
      const base = i * 3 * plane;
      for (let p = 0; p < plane; p++) {
        for (let c = 0; c < 3; c++) {
          const v = ((pixels[base + c * plane + p] as number) + 1) * 127.5;
          rgb[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
        }
      }
      return { rgb, width, height, seed: req.seed + i };
    });
  }

  return {
    dir,
    scheduler,
    tokenizer,
    latentChannels,
    vaeScaleFactor,
    scalingFactor,
    nativeSize,
    executionProvider: provider,
    canImg2Img: encoder !== null,
    run,
    async release() {
      await Promise.all([text, unet, decoder, encoder].map((s) => s?.release()));
    },
  };
}

/**
 * How much of each latent to keep from the input (0..1, per channel, c × h × w): one minus the
 * mean of the mask over the latent's f × f pixels, so a latent on the mask's edge is blended.
 */
export function latentKeep(
  mask: Uint8Array,
  width: number,
  height: number,
  f: number,
  channels: number,
): Float32Array {
  const w = width / f;
  const h = height / f;
  const plane = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < f; dy++) {
        const row = (y * f + dy) * width + x * f;
        for (let dx = 0; dx < f; dx++) sum += mask[row + dx] as number;
      }
      plane[y * w + x] = 1 - sum / (255 * f * f);
    }
  }
  const out = new Float32Array(channels * w * h);
  for (let c = 0; c < channels; c++) out.set(plane, c * w * h);
  return out;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * onnxruntime-node lists CUDA among its backends on Linux x64 even when the provider library is
 * absent (it ships only with the install script this project denies, or a CUDA build installed
 * beside it): CUDA counts as available when it is listed and its library is there.
 */
export function cudaAvailable(): boolean {
  const listed = ort.listSupportedBackends().find((b) => b.name === "cuda");
  if (!listed) return false;
  if (listed.bundled) return true;
  try {
    const entry = createRequire(import.meta.url).resolve("onnxruntime-node");
    const bin = path.join(
      path.dirname(entry),
      "..",
      "bin",
      "napi-v6",
      process.platform,
      process.arch,
    );
    return existsSync(path.join(bin, "libonnxruntime_providers_cuda.so"));
  } catch {
    return false;
  }
}
