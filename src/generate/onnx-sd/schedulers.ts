import { HallmarkError } from "../../errors/index.js";

/**
 * Samplers for the ONNX Stable Diffusion pipeline, from their published formulas:
 *
 * - `euler` and `euler_a` (Euler ancestral): Karras et al. 2022, "Elucidating the Design Space of
 *   Diffusion-Based Generative Models", Algorithm 1 with the probability-flow ODE
 *   dx/dσ = (x − D(x; σ))/σ, and its ancestral variant as in k-diffusion's `sample_euler_ancestral`
 *   (σ_up = min(σ_next, √(σ_next²(σ² − σ_next²)/σ²)), σ_down = √(σ_next² − σ_up²)). A discrete
 *   DDPM model is read in the variance-exploding form σ_t = √((1 − ᾱ_t)/ᾱ_t), x = x_VP·√(1 + σ²).
 * - `ddim`: Song et al. 2021, "Denoising Diffusion Implicit Models", eq. 12, with η (0 is the
 *   deterministic sampler).
 *
 * Noise schedules (`betas`) and inference timestep spacings follow diffusers' scheduler_config.json
 * fields, so an SD export's scheduler folder configures them. Checked against values computed
 * independently with numpy (fixtures/schedulers.py → schedulers.json).
 */
export type SamplerName = "euler_a" | "euler" | "ddim";
export const SAMPLERS: readonly SamplerName[] = ["euler_a", "euler", "ddim"];

export interface SchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: "scaled_linear" | "linear";
  predictionType: "epsilon" | "v_prediction";
  timestepSpacing: "leading" | "trailing" | "linspace";
  stepsOffset: number;
  /** DDIM: ᾱ after the last step is 1 (true) or ᾱ_0 (false, SD's setting). */
  setAlphaToOne: boolean;
}

export const SD_SCHEDULER: SchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: "scaled_linear",
  predictionType: "epsilon",
  timestepSpacing: "leading",
  stepsOffset: 1,
  setAlphaToOne: false,
};

/** Reads diffusers' scheduler_config.json; absent fields take SD 1.x's values. */
export function parseSchedulerConfig(json: Record<string, unknown>): SchedulerConfig {
  const num = (key: string, fallback: number): number =>
    typeof json[key] === "number" ? (json[key] as number) : fallback;
  const pick = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = json[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
    throw new HallmarkError(
      "config_error",
      `scheduler_config.json: ${key} "${String(v)}" is not supported (${allowed.join(", ")}).`,
    );
  };
  return {
    numTrainTimesteps: num("num_train_timesteps", SD_SCHEDULER.numTrainTimesteps),
    betaStart: num("beta_start", SD_SCHEDULER.betaStart),
    betaEnd: num("beta_end", SD_SCHEDULER.betaEnd),
    betaSchedule: pick("beta_schedule", ["scaled_linear", "linear"] as const, "scaled_linear"),
    predictionType: pick("prediction_type", ["epsilon", "v_prediction"] as const, "epsilon"),
    timestepSpacing: pick(
      "timestep_spacing",
      ["leading", "trailing", "linspace"] as const,
      "leading",
    ),
    stepsOffset: num("steps_offset", SD_SCHEDULER.stepsOffset),
    setAlphaToOne: json.set_alpha_to_one === true,
  };
}

/** ᾱ_t = Π_{s≤t} (1 − β_s); scaled_linear: β = linspace(√β_start, √β_end, N)². */
export function alphasCumprod(config: SchedulerConfig): Float64Array {
  const n = config.numTrainTimesteps;
  const out = new Float64Array(n);
  let prod = 1;
  for (let i = 0; i < n; i++) {
    const f = n === 1 ? 0 : i / (n - 1);
    const beta =
      config.betaSchedule === "scaled_linear"
        ? (Math.sqrt(config.betaStart) +
            f * (Math.sqrt(config.betaEnd) - Math.sqrt(config.betaStart))) **
          2
        : config.betaStart + f * (config.betaEnd - config.betaStart);
    prod *= 1 - beta;
    out[i] = prod;
  }
  return out;
}

/** Descending training timesteps visited by `steps` inference steps (diffusers' spacings). */
export function inferenceTimesteps(config: SchedulerConfig, steps: number): number[] {
  const n = config.numTrainTimesteps;
  if (!Number.isInteger(steps) || steps < 1 || steps > n) {
    throw new HallmarkError("invalid_request_error", `steps must be an integer from 1 to ${n}.`);
  }
  const out: number[] = [];
  if (config.timestepSpacing === "leading") {
    const ratio = Math.floor(n / steps);
    for (let i = steps - 1; i >= 0; i--) out.push(i * ratio + config.stepsOffset);
  } else if (config.timestepSpacing === "trailing") {
    const ratio = n / steps;
    for (let i = 0; i < steps; i++) out.push(Math.round(n - i * ratio) - 1);
  } else {
    for (let i = steps - 1; i >= 0; i--)
      out.push(steps === 1 ? n - 1 : ((n - 1) * i) / (steps - 1));
  }
  return out.map((t) => Math.min(Math.max(t, 0), n - 1));
}

export interface Sampler {
  readonly name: SamplerName;
  /** Timesteps given to the UNet, one per step (fractional for Euler with linspace spacing). */
  readonly timesteps: readonly number[];
  /** σ_i per step plus a final 0 (Euler family); empty for DDIM. */
  readonly sigmas: readonly number[];
  /** What pure noise is multiplied by to start txt2img. */
  readonly initNoiseSigma: number;
  /** The UNet's input at step i (Euler divides by √(σ² + 1); DDIM passes it through). */
  scaleModelInput(sample: Float32Array, i: number): Float32Array;
  /** One step from step i with the model output at that step; `noise` feeds ancestral steps. */
  step(
    modelOutput: Float32Array,
    i: number,
    sample: Float32Array,
    noise: () => number,
  ): Float32Array;
  /** img2img: the clean latent noised to the level of step i. */
  addNoise(original: Float32Array, noise: Float32Array, i: number): Float32Array;
}

export interface SamplerOptions {
  /** DDIM's η: 0 (default) deterministic, 1 DDPM-like. */
  eta?: number;
}

export function createSampler(
  name: SamplerName,
  config: SchedulerConfig,
  steps: number,
  options: SamplerOptions = {},
): Sampler {
  const ac = alphasCumprod(config);
  const timesteps = inferenceTimesteps(config, steps);
  return name === "ddim"
    ? ddim(config, ac, timesteps, options.eta ?? 0)
    : euler(name, config, ac, timesteps);
}

/** σ(t) for fractional t: linear interpolation of √((1 − ᾱ)/ᾱ) between integer timesteps. */
function sigmaAt(ac: Float64Array, t: number): number {
  const s = (k: number) => Math.sqrt((1 - (ac[k] as number)) / (ac[k] as number));
  const lo = Math.floor(t);
  const hi = Math.min(lo + 1, ac.length - 1);
  const w = t - lo;
  return s(lo) * (1 - w) + s(hi) * w;
}

function euler(
  name: "euler" | "euler_a",
  config: SchedulerConfig,
  ac: Float64Array,
  timesteps: number[],
): Sampler {
  const sigmas = [...timesteps.map((t) => sigmaAt(ac, t)), 0];
  const v = config.predictionType === "v_prediction";
  return {
    name,
    timesteps,
    sigmas,
    initNoiseSigma: sigmas[0] as number,
    scaleModelInput(sample, i) {
      const c = 1 / Math.sqrt((sigmas[i] as number) ** 2 + 1);
      return sample.map((x) => x * c);
    },
    step(out, i, x, noise) {
      const sigma = sigmas[i] as number;
      const next = sigmas[i + 1] as number;
      let sigmaUp = 0;
      let target = next;
      if (name === "euler_a" && next > 0) {
        sigmaUp = Math.min(next, Math.sqrt((next ** 2 * (sigma ** 2 - next ** 2)) / sigma ** 2));
        target = Math.sqrt(next ** 2 - sigmaUp ** 2);
      }
      const dt = target - sigma;
      const result = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) {
        const xk = x[k] as number;
        const ok = out[k] as number;
        // D(x; σ): the model's estimate of the clean sample.
        const denoised = v
          ? ok * (-sigma / Math.sqrt(sigma ** 2 + 1)) + xk / (sigma ** 2 + 1)
          : xk - sigma * ok;
        const d = (xk - denoised) / sigma;
        result[k] = xk + d * dt;
      }
      if (sigmaUp > 0) {
        for (let k = 0; k < result.length; k++)
          result[k] = (result[k] as number) + noise() * sigmaUp;
      }
      return result;
    },
    addNoise(original, noise, i) {
      const sigma = sigmas[i] as number;
      return original.map((x, k) => x + sigma * (noise[k] as number));
    },
  };
}

function ddim(
  config: SchedulerConfig,
  ac: Float64Array,
  timesteps: number[],
  eta: number,
): Sampler {
  const finalAlpha = config.setAlphaToOne ? 1 : (ac[0] as number);
  const v = config.predictionType === "v_prediction";
  const alpha = (t: number) => ac[Math.round(t)] as number;
  return {
    name: "ddim",
    timesteps,
    sigmas: [],
    initNoiseSigma: 1,
    scaleModelInput: (sample) => sample,
    step(out, i, x, noise) {
      const t = timesteps[i] as number;
      const prev = timesteps[i + 1];
      const aT = alpha(t);
      const aPrev = prev === undefined ? finalAlpha : alpha(prev);
      const sqrtA = Math.sqrt(aT);
      const sqrtB = Math.sqrt(1 - aT);
      // Song et al. eq. 16: σ_t(η).
      const sigma = eta * Math.sqrt((1 - aPrev) / (1 - aT)) * Math.sqrt(1 - aT / aPrev);
      const dirCoef = Math.sqrt(Math.max(1 - aPrev - sigma ** 2, 0));
      const result = new Float32Array(x.length);
      for (let k = 0; k < x.length; k++) {
        const xk = x[k] as number;
        const ok = out[k] as number;
        const x0 = v ? sqrtA * xk - sqrtB * ok : (xk - sqrtB * ok) / sqrtA;
        const eps = v ? sqrtA * ok + sqrtB * xk : ok;
        result[k] = Math.sqrt(aPrev) * x0 + dirCoef * eps + (sigma > 0 ? sigma * noise() : 0);
      }
      return result;
    },
    addNoise(original, noise, i) {
      const a = alpha(timesteps[i] as number);
      const sa = Math.sqrt(a);
      const sb = Math.sqrt(1 - a);
      return original.map((x, k) => sa * x + sb * (noise[k] as number));
    },
  };
}
