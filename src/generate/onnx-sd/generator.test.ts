import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOnnxSdGenerator, type OnnxSdGenerator } from "./generator.js";

const TINY = new URL("./fixtures/tiny-sd", import.meta.url).pathname;
const input = { prompt: "a photo of a cat", width: 64, height: 64, n: 1, seed: 5 };
const live = () => new AbortController().signal;

let g: OnnxSdGenerator;
beforeAll(async () => {
  g = await createOnnxSdGenerator({ dir: TINY, steps: 4, executionProvider: "cpu" });
});
afterAll(() => g.close());

describe("ONNX SD generator", () => {
  it("implements Generator: PNG of the requested size and the metadata to record", async () => {
    const out = await g.generate(input, live());
    expect(out.backend).toBe("onnx-sd");
    expect(out.placeholder).toBe(false);
    expect(out.model.id).toBe("tiny-sd");
    expect(out.model.version).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(out.parameters).toMatchObject({
      steps: 4,
      sampler: "euler_a", // PNDMScheduler has no counterpart here: the default sampler
      guidance_scale: 7.5,
      native_resolution: "64x64",
      upscaled: false,
      execution_provider: "cpu",
    });
    const meta = await sharp(out.images[0]?.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 64, 64]);
    expect(g.capabilities).toMatchObject({ txt2img: true, img2img: true, inpaint: true });
    // What the pipeline lets through to edit (src/pipeline/edit.ts refuses the rest).
    expect(g.editCapabilities).toEqual({ mask: true, maxImages: 1, strength: true });
    await g.health();
  });

  it("resizes with sharp when the size is not a multiple of the VAE factor", async () => {
    const out = await g.generate({ ...input, width: 100, height: 60 }, live());
    expect(out.parameters).toMatchObject({ native_resolution: "96x56", upscaled: true });
    const meta = await sharp(out.images[0]?.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([100, 60]);
  });

  it("reports each denoising step to onProgress, and a listener that throws changes nothing", async () => {
    const seen: Array<[number, number]> = [];
    const out = await g.generate(
      { ...input, onProgress: ({ step, steps }) => seen.push([step, steps]) },
      live(),
    );
    expect(seen).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    const plain = await g.generate(input, live());
    expect(out.images[0]?.bytes.equals(plain.images[0]?.bytes as Buffer)).toBe(true);
    const broken = await g.generate(
      {
        ...input,
        onProgress: () => {
          throw new Error("listener bug");
        },
      },
      live(),
    );
    expect(broken.images[0]?.bytes.equals(plain.images[0]?.bytes as Buffer)).toBe(true);
  });

  /** A 64×64 RGB pattern, raw and as PNG: the edits' input. */
  const patternImage = async () => {
    const raw = Buffer.alloc(64 * 64 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 13) % 251;
    const image = await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer();
    return { raw, image };
  };

  it("same seed, same bytes", async () => {
    const a = await g.generate(input, live());
    const b = await g.generate(input, live());
    expect(a.images[0]?.bytes.equals(b.images[0]?.bytes as Buffer)).toBe(true);
  });

  it("img2img: strength 0 returns the input, strength 1 ignores it", async () => {
    const { raw, image } = await patternImage();
    const edit = g.edit?.bind(g);
    if (!edit) throw new Error("the tiny export has a vae_encoder");

    const kept = await edit({ ...input, image, strength: 0 }, live());
    const back = await sharp(kept.images[0]?.bytes).raw().toBuffer();
    expect(back.equals(raw)).toBe(true);

    const ignored = await edit({ ...input, image, strength: 1 }, live());
    const fresh = await g.generate(input, live());
    expect(ignored.images[0]?.bytes.equals(fresh.images[0]?.bytes as Buffer)).toBe(true);

    const between = await edit({ ...input, image, strength: 0.5 }, live());
    expect(between.parameters).toMatchObject({ strength: 0.5 });
    expect(between.images[0]?.bytes.equals(fresh.images[0]?.bytes as Buffer)).toBe(false);

    await expect(edit({ ...input, image, strength: 1.5 }, live())).rejects.toMatchObject({
      code: "invalid_request_error",
    });
    await expect(
      edit({ ...input, image: Buffer.from("not an image"), strength: 0.5 }, live()),
    ).rejects.toMatchObject({ code: "invalid_image" });
  });

  it("inpaints: the mask's black half is the input's own pixels, its white half is denoised under the kept half's constraint", async () => {
    const { raw, image } = await patternImage();
    // Left half kept (black), right half repainted (white).
    const m = Buffer.alloc(64 * 64);
    for (let p = 0; p < m.length; p++) m[p] = p % 64 >= 32 ? 255 : 0;
    const mask = await sharp(m, { raw: { width: 64, height: 64, channels: 1 } })
      .png()
      .toBuffer();
    const edit = g.edit?.bind(g);
    if (!edit) throw new Error("the tiny export has a vae_encoder");
    const half = (rgb: Buffer, right: boolean) =>
      Buffer.concat(
        Array.from({ length: 64 }, (_, y) =>
          rgb.subarray((y * 64 + (right ? 32 : 0)) * 3, (y * 64 + (right ? 64 : 32)) * 3),
        ),
      );

    const out = await edit({ ...input, image, mask, strength: 1 }, live());
    expect(out.parameters).toMatchObject({ strength: 1, inpainting: "latent-blend" });
    const rgb = await sharp(out.images[0]?.bytes).removeAlpha().raw().toBuffer();
    expect(half(rgb, false).equals(half(raw, false))).toBe(true);
    expect(half(rgb, true).equals(half(raw, true))).toBe(false);
    // The repainted half is not what the same seed draws with nothing kept: the kept latents
    // steered it.
    const fresh = await sharp((await g.generate(input, live())).images[0]?.bytes)
      .raw()
      .toBuffer();
    expect(half(rgb, true).equals(half(fresh, true))).toBe(false);
    // Same request, same bytes.
    const again = await edit({ ...input, image, mask, strength: 1 }, live());
    expect(again.images[0]?.bytes.equals(out.images[0]?.bytes as Buffer)).toBe(true);

    await expect(
      edit({ ...input, image, mask: Buffer.from("not a mask"), strength: 0.5 }, live()),
    ).rejects.toMatchObject({ code: "invalid_image", param: "mask" });
  });

  it("honours an aborted signal", async () => {
    await expect(g.generate(input, AbortSignal.abort())).rejects.toBeDefined();
  });

  it("refuses a folder that is not an export", async () => {
    await expect(createOnnxSdGenerator({ dir: "/nonexistent" })).rejects.toMatchObject({
      code: "config_error",
    });
  });
});
