import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  alphasCumprod,
  createSampler,
  inferenceTimesteps,
  parseSchedulerConfig,
  type SamplerName,
  type SchedulerConfig,
  SD_SCHEDULER,
} from "./schedulers.js";

// Values computed with numpy from the published formulas: fixtures/schedulers.py.
const ref = JSON.parse(
  readFileSync(new URL("./fixtures/schedulers.json", import.meta.url), "utf8"),
) as Record<string, unknown> & {
  x: number[];
  eps: number[];
  noise: number[];
  timesteps: Record<string, number[]>;
};
const x = Float32Array.from(ref.x);
const eps = Float32Array.from(ref.eps);

function noiseSource(): () => number {
  let i = 0;
  return () => ref.noise[i++ % ref.noise.length] as number;
}

function expectClose(actual: ArrayLike<number>, expected: number[], tol = 2e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) {
    const e = expected[k] as number;
    expect(Math.abs((actual[k] as number) - e)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e)));
  }
}

const withSpacing = (spacing: SchedulerConfig["timestepSpacing"], extra = {}): SchedulerConfig => ({
  ...SD_SCHEDULER,
  timestepSpacing: spacing,
  ...extra,
});

describe("noise schedule", () => {
  it("scaled_linear ᾱ matches the DDPM product", () => {
    const ac = alphasCumprod(SD_SCHEDULER);
    for (const [t, v] of Object.entries(ref.alphas_cumprod as Record<string, number>)) {
      expect(ac[Number(t)]).toBeCloseTo(v, 12);
    }
  });

  it("linear betas too", () => {
    const ac = alphasCumprod({
      ...SD_SCHEDULER,
      betaSchedule: "linear",
      betaStart: 0.0001,
      betaEnd: 0.02,
    });
    for (const [t, v] of Object.entries(ref.linear_alphas_cumprod as Record<string, number>)) {
      expect(ac[Number(t)]).toBeCloseTo(v, 12);
    }
  });

  it("inference timesteps follow diffusers' spacings", () => {
    expect(inferenceTimesteps(SD_SCHEDULER, 20)).toEqual(ref.timesteps.leading_20);
    expect(inferenceTimesteps(SD_SCHEDULER, 50)).toEqual(ref.timesteps.leading_50);
    expect(inferenceTimesteps(withSpacing("trailing"), 4)).toEqual(ref.timesteps.trailing_4);
    expect(inferenceTimesteps(withSpacing("trailing"), 1)).toEqual(ref.timesteps.trailing_1);
    expectClose(
      inferenceTimesteps(withSpacing("linspace"), 10),
      ref.timesteps.linspace_10 as number[],
      1e-12,
    );
  });

  it("refuses step counts outside 1..N", () => {
    expect(() => inferenceTimesteps(SD_SCHEDULER, 0)).toThrow(/steps/);
    expect(() => inferenceTimesteps(SD_SCHEDULER, 1001)).toThrow(/steps/);
    expect(() => inferenceTimesteps(SD_SCHEDULER, 2.5)).toThrow(/steps/);
  });

  it("reads diffusers' scheduler_config.json and refuses what it cannot honour", () => {
    const c = parseSchedulerConfig({
      _class_name: "EulerAncestralDiscreteScheduler",
      beta_schedule: "scaled_linear",
      prediction_type: "v_prediction",
      timestep_spacing: "trailing",
      steps_offset: 0,
      set_alpha_to_one: true,
    });
    expect(c).toMatchObject({
      predictionType: "v_prediction",
      timestepSpacing: "trailing",
      stepsOffset: 0,
      setAlphaToOne: true,
    });
    expect(parseSchedulerConfig({})).toEqual(SD_SCHEDULER);
    expect(() => parseSchedulerConfig({ beta_schedule: "squaredcos_cap_v2" })).toThrow(
      /beta_schedule/,
    );
    expect(() => parseSchedulerConfig({ prediction_type: "sample" })).toThrow(/prediction_type/);
  });
});

describe("Euler (Karras et al. 2022)", () => {
  it("σ per step and the model-input scaling", () => {
    expectClose(
      createSampler("euler", SD_SCHEDULER, 20).sigmas,
      ref.sigmas_leading_20 as number[],
      1e-9,
    );
    expectClose(
      createSampler("euler", withSpacing("linspace"), 10).sigmas,
      ref.sigmas_linspace_10 as number[],
      1e-9,
    );
    const s = createSampler("euler", SD_SCHEDULER, 20);
    expect(s.initNoiseSigma).toBeCloseTo((ref.sigmas_leading_20 as number[])[0] as number, 9);
    expectClose(s.scaleModelInput(x, 3), ref.euler_scale_input_leading_20_step3 as number[]);
  });

  const cases: [string, SamplerName, SchedulerConfig, number][] = [
    ["euler_leading_20", "euler", SD_SCHEDULER, 20],
    ["euler_linspace_10", "euler", withSpacing("linspace"), 10],
    ["euler_v_leading_20", "euler", { ...SD_SCHEDULER, predictionType: "v_prediction" }, 20],
    ["euler_a_leading_20", "euler_a", SD_SCHEDULER, 20],
    ["euler_a_trailing_4", "euler_a", withSpacing("trailing"), 4],
    ["ddim_leading_20", "ddim", SD_SCHEDULER, 20],
    ["ddim_v_leading_20", "ddim", { ...SD_SCHEDULER, predictionType: "v_prediction" }, 20],
  ];
  for (const [key, name, config, steps] of cases) {
    it(`${key}: one step equals the formula`, () => {
      const sampler = createSampler(name, config, steps);
      for (const [i, expected] of Object.entries(ref[key] as Record<string, number[]>)) {
        expectClose(sampler.step(eps, Number(i), x, noiseSource()), expected);
      }
    });
  }

  it("DDIM with η = 1 draws σ_t·z", () => {
    const sampler = createSampler("ddim", SD_SCHEDULER, 20, { eta: 1 });
    for (const [i, expected] of Object.entries(
      ref.ddim_eta1_leading_20 as Record<string, number[]>,
    )) {
      expectClose(sampler.step(eps, Number(i), x, noiseSource()), expected);
    }
  });

  it("deterministic samplers draw no noise; ancestral ones do, except at the last step", () => {
    let drawn = 0;
    const counting = () => {
      drawn++;
      return 0;
    };
    createSampler("euler", SD_SCHEDULER, 20).step(eps, 0, x, counting);
    createSampler("ddim", SD_SCHEDULER, 20).step(eps, 0, x, counting);
    expect(drawn).toBe(0);
    createSampler("euler_a", SD_SCHEDULER, 20).step(eps, 19, x, counting);
    expect(drawn).toBe(0);
    createSampler("euler_a", SD_SCHEDULER, 20).step(eps, 0, x, counting);
    expect(drawn).toBe(x.length);
  });

  it("img2img noising: DDPM forward process for DDIM, x + σz for Euler", () => {
    const z = Float32Array.from(ref.noise);
    expectClose(
      createSampler("ddim", SD_SCHEDULER, 20).addNoise(x, z, 5),
      ref.add_noise_ddim_leading_20_step5 as number[],
    );
    expectClose(
      createSampler("euler_a", SD_SCHEDULER, 20).addNoise(x, z, 5),
      ref.add_noise_euler_leading_20_step5 as number[],
    );
  });
});
