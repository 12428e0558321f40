import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { latentKeep, loadOnnxSd, type OnnxSdModel, type SdRequest } from "./pipeline.js";

// A random-weight model with SD 1.x's layout and signatures: scripts/onnx-sd-tiny/make.py.
const TINY = new URL("./fixtures/tiny-sd", import.meta.url).pathname;

const base: SdRequest = {
  prompt: "a photo of a cat",
  negativePrompt: "",
  width: 64,
  height: 64,
  n: 1,
  seed: 42,
  steps: 6,
  sampler: "euler_a",
  guidanceScale: 7.5,
};

let model: OnnxSdModel;
const run = (req: Partial<SdRequest>, signal = new AbortController().signal) =>
  model.run({ ...base, ...req }, signal);

describe("ONNX Stable Diffusion pipeline (tiny export)", () => {
  it("loads the export folder with SD's defaults", async () => {
    model = await loadOnnxSd(TINY, { executionProvider: "auto" });
    expect(model.latentChannels).toBe(4);
    expect(model.vaeScaleFactor).toBe(8);
    expect(model.scalingFactor).toBe(0.18215);
    expect(model.nativeSize).toBeNull();
    expect(model.canImg2Img).toBe(true);
    // No CUDA provider library on this machine: auto falls back to the CPU.
    expect(["cpu", "cuda"]).toContain(model.executionProvider);
  });

  it("makes images of the requested size, one seed per image", async () => {
    const images = await run({ n: 2, width: 64, height: 48 });
    expect(images.map((i) => [i.width, i.height, i.rgb.length, i.seed])).toEqual([
      [64, 48, 64 * 48 * 3, 42],
      [64, 48, 64 * 48 * 3, 43],
    ]);
    // Image i of a batch is the image a single run with seed + i makes.
    const [second] = await run({ seed: 43, width: 64, height: 48 });
    expect(Buffer.from(second?.rgb ?? [])).toEqual(Buffer.from(images[1]?.rgb ?? []));
  });

  it("is deterministic: same seed, same bytes; another seed, other bytes", async () => {
    for (const sampler of ["euler_a", "euler", "ddim"] as const) {
      const [a] = await run({ sampler });
      const [b] = await run({ sampler });
      const [c] = await run({ sampler, seed: 7 });
      expect(Buffer.from(a?.rgb ?? [])).toEqual(Buffer.from(b?.rgb ?? []));
      expect(Buffer.from(a?.rgb ?? [])).not.toEqual(Buffer.from(c?.rgb ?? []));
    }
  });

  it("guidance and the negative prompt change the image; samplers differ", async () => {
    const bytes = async (req: Partial<SdRequest>) => Buffer.from((await run(req))[0]?.rgb ?? []);
    const guided = await bytes({});
    expect(await bytes({ guidanceScale: 1 })).not.toEqual(guided);
    expect(await bytes({ negativePrompt: "a red apple" })).not.toEqual(guided);
    expect(await bytes({ sampler: "ddim" })).not.toEqual(guided);
  });

  it("runs every step, and stops between steps when the signal aborts", async () => {
    const seen: number[] = [];
    await run({ onStep: (done) => seen.push(done) });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);

    const controller = new AbortController();
    const steps: number[] = [];
    const promise = run(
      {
        onStep: (done) => {
          steps.push(done);
          if (done === 2) controller.abort(new Error("client went away"));
        },
      },
      controller.signal,
    );
    await expect(promise).rejects.toThrow("client went away");
    expect(steps).toEqual([1, 2]);
    await expect(run({}, AbortSignal.abort())).rejects.toBeDefined();
  });

  it("img2img: strength sets how many steps run, from the encoded input", async () => {
    const rgb = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 7) % 256);
    const steps: number[] = [];
    const half = await run({
      init: { rgb, strength: 0.5 },
      onStep: (_, total) => steps.push(total),
    });
    expect(steps).toEqual([3, 3, 3]);
    const other = await run({ init: { rgb: rgb.map((v) => 255 - v), strength: 0.5 } });
    expect(Buffer.from(half[0]?.rgb ?? [])).not.toEqual(Buffer.from(other[0]?.rgb ?? []));
  });

  it("refuses at load an inpainting UNet (9 channels against the VAE's 4), naming it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hallmark-sd-"));
    cpSync(TINY, dir, { recursive: true });
    writeFileSync(join(dir, "unet", "config.json"), JSON.stringify({ in_channels: 9 }));
    try {
      await expect(loadOnnxSd(dir)).rejects.toMatchObject({
        code: "config_error",
        message: expect.stringContaining("an inpainting UNet"),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses sizes the VAE cannot make", async () => {
    await expect(run({ width: 60 })).rejects.toMatchObject({ code: "invalid_request_error" });
  });
});

describe("latentKeep", () => {
  it("keeps a latent whose pixels are all black, repaints one all white, blends one on the edge", () => {
    // 16×8 pixels, VAE factor 8: two latents side by side; 2 channels.
    const mask = new Uint8Array(16 * 8);
    for (let y = 0; y < 8; y++) {
      for (let x = 8; x < 16; x++) mask[y * 16 + x] = 255;
    }
    expect([...latentKeep(mask, 16, 8, 8, 2)]).toEqual([1, 0, 1, 0]);
    for (let y = 0; y < 8; y++) mask[y * 16 + 4] = 255; // one column of the left latent's 8
    expect(latentKeep(mask, 16, 8, 8, 1)[0]).toBeCloseTo(1 - 8 / 64, 6);
  });
});
