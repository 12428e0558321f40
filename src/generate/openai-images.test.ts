import sharp from "sharp";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeOpenAIImages, startFakeOpenAIImages } from "./fake-openai-images.js";
import { createOpenAIImagesGenerator } from "./openai-images.js";
import { withRetries } from "./retry.js";

const input = { prompt: "a red apple", width: 128, height: 96, n: 2, seed: 5 };
const never = new AbortController().signal;

describe("OpenAI-compatible images adapter against a fake upstream on loopback", () => {
  let fake: FakeOpenAIImages | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it("sends OpenAI's generations shape with the key and returns checked images", async () => {
    fake = await startFakeOpenAIImages({ apiKey: "sk-test" });
    const g = createOpenAIImagesGenerator({
      url: `${fake.url}/v1`,
      apiKey: "sk-test",
      model: "fake-image-1",
      maxPixels: 1e6,
    });
    const out = await g.generate({ ...input, negativePrompt: "blurry" }, never);
    expect(fake.requests[0]).toEqual({
      path: "/v1/images/generations",
      authorization: "Bearer sk-test",
      body: {
        model: "fake-image-1",
        prompt: "a red apple",
        n: 2,
        size: "128x96",
        response_format: "b64_json",
      },
    });
    expect(out.images.map((i) => [i.width, i.height, i.seed, i.mediaType])).toEqual([
      [128, 96, 5, "image/png"],
      [128, 96, 6, "image/png"],
    ]);
    expect(out).toMatchObject({
      backend: "openai",
      model: { id: "fake-image-1" },
      parameters: { negativePromptIgnored: true, revised_prompt: "revised: a red apple" },
    });
    await g.health();
  });

  it("sends edits as multipart: image, the mask in OpenAI's alpha form, image[] for several", async () => {
    fake = await startFakeOpenAIImages();
    const g = createOpenAIImagesGenerator({ url: fake.url, model: "m", maxPixels: 1e6 });
    expect(g.editCapabilities).toEqual({ mask: true, maxImages: 16, strength: false });
    const image = await sharp({
      create: { width: 128, height: 96, channels: 3, background: "red" },
    })
      .png()
      .toBuffer();
    // Hallmark's mask: white (repaint) on the left half, black (keep) on the right.
    const grey = Buffer.alloc(128 * 96);
    for (let y = 0; y < 96; y++) grey.fill(255, y * 128, y * 128 + 64);
    const mask = await sharp(grey, { raw: { width: 128, height: 96, channels: 1 } })
      .png()
      .toBuffer();
    const out = await g.edit!({ ...input, n: 1, image, mask }, never);
    const req = fake.requests[0]!;
    expect(req.path).toBe("/v1/images/edits");
    expect((req.body.image as Buffer).equals(image)).toBe(true);
    const sent = await sharp(req.body.mask as Buffer)
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(sent.info.channels).toBe(4);
    expect(sent.data[3]).toBe(0); // left: transparent, edited
    expect(sent.data[100 * 4 + 3]).toBe(255); // right: opaque, kept
    expect(req.body).toMatchObject({
      prompt: "a red apple",
      n: "1",
      size: "128x96",
      response_format: "b64_json",
    });
    expect(out.images).toHaveLength(1);

    await g.edit!({ ...input, n: 1, image, references: [image, image] }, never);
    const several = fake.requests[1]!;
    expect(several.body.image).toBeUndefined();
    expect((several.body["image[]"] as Buffer[]).length).toBe(3);
  });

  it("sends a variation to the upstream's variations endpoint: one image, no prompt", async () => {
    fake = await startFakeOpenAIImages();
    const g = createOpenAIImagesGenerator({ url: fake.url, model: "m", maxPixels: 1e6 });
    const image = await sharp({
      create: { width: 128, height: 96, channels: 3, background: "blue" },
    })
      .png()
      .toBuffer();
    const out = await g.edit!({ ...input, prompt: "", n: 2, image, variation: true }, never);
    const req = fake.requests[0]!;
    expect(req.path).toBe("/v1/images/variations");
    expect((req.body.image as Buffer).equals(image)).toBe(true);
    expect(req.body).toMatchObject({ model: "m", n: "2", size: "128x96" });
    expect(req.body.prompt).toBeUndefined();
    expect(out.images.map((i) => [i.width, i.height])).toEqual([
      [128, 96],
      [128, 96],
    ]);
  });

  it("the fake refuses a mask of another size as OpenAI does (400 → backend_error)", async () => {
    fake = await startFakeOpenAIImages();
    const g = createOpenAIImagesGenerator({ url: fake.url, model: "m", maxPixels: 1e6 });
    const image = await sharp({ create: { width: 8, height: 8, channels: 3, background: "red" } })
      .png()
      .toBuffer();
    const mask = await sharp({ create: { width: 4, height: 4, channels: 3, background: "white" } })
      .png()
      .toBuffer();
    await expect(g.edit!({ ...input, n: 1, image, mask }, never)).rejects.toMatchObject({
      code: "backend_error",
    });
  });

  it("maps upstream errors to typed HallmarkErrors", async () => {
    const cases: Array<[Parameters<typeof startFakeOpenAIImages>[0], string]> = [
      [{ failWith: 400, errorCode: "content_policy_violation" }, "content_policy_violation"],
      [{ failWith: 400 }, "backend_error"],
      [{ apiKey: "right" }, "backend_error"],
      [{ failWith: 500 }, "backend_error"],
      [{ failWith: 503 }, "backend_unavailable"],
      [{ malformed: true }, "backend_error"],
    ];
    for (const [options, code] of cases) {
      fake = await startFakeOpenAIImages(options);
      const g = createOpenAIImagesGenerator({
        url: fake.url,
        apiKey: "wrong",
        model: "m",
        maxPixels: 1e6,
      });
      await expect(g.generate(input, never)).rejects.toMatchObject({ code });
      await fake.close();
      fake = undefined;
    }
    fake = await startFakeOpenAIImages({ failWith: 429 });
    const g = createOpenAIImagesGenerator({ url: fake.url, model: "m", maxPixels: 1e6 });
    await expect(g.generate(input, never)).rejects.toMatchObject({
      code: "backend_unavailable",
      details: { retryAfterSeconds: 5 },
    });
  });

  it("retries a 503 but not a content-policy refusal", async () => {
    fake = await startFakeOpenAIImages({ failWith: 503, failFirst: 1 });
    let g = withRetries(
      createOpenAIImagesGenerator({ url: fake.url, model: "m", maxPixels: 1e6 }),
      {
        retries: 2,
        baseDelayMs: 1,
      },
    );
    await expect(g.generate(input, never)).resolves.toMatchObject({ backend: "openai" });
    expect(fake.requests).toHaveLength(2);
    await fake.close();
    fake = await startFakeOpenAIImages({ failWith: 400, errorCode: "content_policy_violation" });
    g = withRetries(createOpenAIImagesGenerator({ url: fake.url, model: "m", maxPixels: 1e6 }), {
      retries: 2,
      baseDelayMs: 1,
    });
    await expect(g.generate(input, never)).rejects.toMatchObject({
      code: "content_policy_violation",
    });
    expect(fake.requests).toHaveLength(1);
  });

  it("stops waiting when the signal aborts", async () => {
    fake = await startFakeOpenAIImages({ latencyMs: 2000 });
    const g = createOpenAIImagesGenerator({ url: fake.url, model: "m", maxPixels: 1e6 });
    const started = Date.now();
    await expect(g.generate(input, AbortSignal.timeout(100))).rejects.toMatchObject({
      name: "TimeoutError",
    });
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
