import sharp from "sharp";
import { afterEach, describe, expect, it } from "vitest";
import { createAutomatic1111Generator } from "./automatic1111.js";
import { type FakeAutomatic1111, startFakeAutomatic1111 } from "./fake-automatic1111.js";
import { createLimiter } from "./limiter.js";
import { createPlaceholderGenerator } from "./placeholder.js";

const input = { prompt: "a lighthouse at dusk", width: 256, height: 256, n: 2, seed: 42 };
const never = new AbortController().signal;

describe("placeholder generator", () => {
  it("is deterministic in (prompt, seed) and differs across seeds and prompts", async () => {
    const g = createPlaceholderGenerator();
    const a = await g.generate(input, never);
    const b = await g.generate(input, never);
    expect(a.placeholder).toBe(true);
    expect(a.images).toHaveLength(2);
    expect(a.images[0]!.bytes.equals(b.images[0]!.bytes)).toBe(true);
    expect(a.images[0]!.bytes.equals(a.images[1]!.bytes)).toBe(false);
    const c = await g.generate({ ...input, prompt: "a cat", n: 1 }, never);
    expect(c.images[0]!.bytes.equals(a.images[0]!.bytes)).toBe(false);
    const meta = await sharp(a.images[0]!.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 256, 256]);
  });
});

describe("AUTOMATIC1111 adapter against a fake upstream on loopback", () => {
  let fake: FakeAutomatic1111 | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it("sends the txt2img request shape and returns decoded images with seeds", async () => {
    fake = await startFakeAutomatic1111();
    const g = createAutomatic1111Generator({ url: fake.url, maxPixels: 1e7 });
    const out = await g.generate({ ...input, negativePrompt: "blurry", model: "sd15" }, never);
    expect(fake.requests[0]).toMatchObject({
      prompt: input.prompt,
      negative_prompt: "blurry",
      seed: 42,
      width: 256,
      height: 256,
      batch_size: 2,
      override_settings: { sd_model_checkpoint: "sd15" },
    });
    expect(out.images.map((i) => i.seed)).toEqual([42, 43]);
    expect(out.model).toEqual({ id: "sd15", version: "0000fake" });
    expect(out.placeholder).toBe(false);
    await g.health();
  });

  it("maps upstream failures to typed errors", async () => {
    fake = await startFakeAutomatic1111({ failWith: 500 });
    let g = createAutomatic1111Generator({ url: fake.url, maxPixels: 1e7 });
    await expect(g.generate(input, never)).rejects.toMatchObject({ code: "backend_error" });
    await fake.close();
    fake = await startFakeAutomatic1111({ malformed: true });
    g = createAutomatic1111Generator({ url: fake.url, maxPixels: 1e7 });
    await expect(g.generate(input, never)).rejects.toMatchObject({ code: "backend_error" });
    g = createAutomatic1111Generator({ url: "http://127.0.0.1:1", maxPixels: 1e7 });
    await expect(g.generate(input, never)).rejects.toMatchObject({ code: "backend_unavailable" });
  });

  it("sends img2img with init_images, denoising_strength and the mask", async () => {
    fake = await startFakeAutomatic1111();
    const g = createAutomatic1111Generator({ url: fake.url, maxPixels: 1e7 });
    const image = await sharp({
      create: { width: 8, height: 8, channels: 3, background: "white" },
    })
      .png()
      .toBuffer();
    const out = await g.edit!({ ...input, n: 1, image, mask: image, strength: 0.4 }, never);
    expect(fake.paths).toEqual(["/sdapi/v1/img2img"]);
    expect(fake.requests[0]).toMatchObject({
      init_images: [image.toString("base64")],
      mask: image.toString("base64"),
      denoising_strength: 0.4,
      width: 256,
      height: 256,
    });
    expect(out.images).toHaveLength(1);
    expect(out.parameters).toMatchObject({ denoising_strength: 0.4 });
  });

  it("the fake refuses img2img whose init image is not an image, as A1111 does (→ backend_error)", async () => {
    fake = await startFakeAutomatic1111();
    const g = createAutomatic1111Generator({ url: fake.url, maxPixels: 1e7 });
    await expect(
      g.edit!({ ...input, n: 1, image: Buffer.from("not an image") }, never),
    ).rejects.toMatchObject({ code: "backend_error" });
  });

  it("stops waiting when the signal aborts", async () => {
    fake = await startFakeAutomatic1111({ latencyMs: 2000 });
    const g = createAutomatic1111Generator({ url: fake.url, maxPixels: 1e7 });
    const started = Date.now();
    await expect(g.generate(input, AbortSignal.timeout(100))).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe("limiter", () => {
  it("runs up to the concurrency, queues up to the bound, and refuses beyond it", async () => {
    const limiter = createLimiter({ concurrency: 1, queue: 1 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const first = limiter.run(never, () => gate);
    const second = limiter.run(never, async () => "second");
    await expect(limiter.run(never, async () => "third")).rejects.toMatchObject({
      code: "rate_limited",
    });
    expect(limiter.queued).toBe(1);
    release();
    await first;
    expect(await second).toBe("second");
    expect(limiter.running).toBe(0);
  });

  it("drops an aborted waiter from the queue", async () => {
    const limiter = createLimiter({ concurrency: 1, queue: 4 });
    let release!: () => void;
    const first = limiter.run(
      never,
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    const ac = new AbortController();
    const waiter = limiter.run(ac.signal, async () => "never");
    ac.abort(new Error("client gone"));
    await expect(waiter).rejects.toThrow("client gone");
    expect(limiter.queued).toBe(0);
    release();
    await first;
  });
});
