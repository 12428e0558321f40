import { afterEach, describe, expect, it } from "vitest";
import { HallmarkError } from "../errors/index.js";
import { createAutomatic1111Generator } from "./automatic1111.js";
import { type FakeAutomatic1111, startFakeAutomatic1111 } from "./fake-automatic1111.js";
import { type FakeOpenAIImages, startFakeOpenAIImages } from "./fake-openai-images.js";
import { createLimiter } from "./limiter.js";
import { createOpenAIImagesGenerator } from "./openai-images.js";
import { createPlaceholderGenerator } from "./placeholder.js";
import { backendFor, createRoutingGenerator, type RoutedBackend } from "./router.js";

const input = { prompt: "a red apple", width: 64, height: 64, n: 1, seed: 3 };
const never = new AbortController().signal;

describe("routing generator: several backends, each request to the one serving its model", () => {
  let a1111: FakeAutomatic1111 | undefined;
  let openai: FakeOpenAIImages | undefined;
  afterEach(async () => {
    await a1111?.close();
    await openai?.close();
    a1111 = undefined;
    openai = undefined;
  });

  async function routed(options: { a1111Latency?: number; concurrency?: number } = {}) {
    a1111 = await startFakeAutomatic1111({ latencyMs: options.a1111Latency });
    openai = await startFakeOpenAIImages();
    const limiter = () => createLimiter({ concurrency: options.concurrency ?? 4, queue: 0 });
    const backends: RoutedBackend[] = [
      { name: "local", generator: createPlaceholderGenerator(), models: [], limiter: limiter() },
      {
        name: "sd",
        generator: createAutomatic1111Generator({ url: a1111.url, maxPixels: 1e6 }),
        models: ["sd-v1-5", "sdxl-base"],
        limiter: limiter(),
      },
      {
        name: "cloud",
        generator: createOpenAIImagesGenerator({
          url: openai.url,
          model: "gpt-image-1",
          maxPixels: 1e6,
        }),
        models: [],
        limiter: limiter(),
      },
    ];
    return createRoutingGenerator(backends, "local");
  }

  it("sends a named model to its backend, and a request without one to the default", async () => {
    const router = await routed();
    const none = await router.generate(input, never);
    expect(none.backend).toBe("placeholder");
    const sd = await router.generate({ ...input, model: "sdxl-base" }, never);
    expect(sd.backend).toBe("automatic1111");
    expect(a1111!.requests).toHaveLength(1);
    // The backend's own default model routes to it without being listed.
    const cloud = await router.generate({ ...input, model: "gpt-image-1" }, never);
    expect(cloud.backend).toBe("openai");
    expect(openai!.requests.map((r) => r.body.model)).toEqual(["gpt-image-1"]);
    expect(router.defaultModel).toBe(createPlaceholderGenerator().defaultModel);
    expect(backendFor(router, "sd-v1-5").name).toBe("automatic1111");
    expect(backendFor(router, undefined).name).toBe("placeholder");
  });

  it("refuses a model no backend serves with model_not_found, calling none", async () => {
    const router = await routed();
    const error = await router
      .generate({ ...input, model: "midjourney-v6" }, never)
      .catch((e) => e);
    expect(error).toBeInstanceOf(HallmarkError);
    expect(error).toMatchObject({ code: "model_not_found", param: "model" });
    expect(error.message).toContain("sd-v1-5");
    expect(a1111!.requests).toHaveLength(0);
    expect(openai!.requests).toHaveLength(0);
  });

  it("gives each backend its own limit: a full one refuses while another still serves", async () => {
    const router = await routed({ a1111Latency: 300, concurrency: 1 });
    const slow = router.generate({ ...input, model: "sd-v1-5" }, never);
    const second = await router.generate({ ...input, model: "sd-v1-5" }, never).catch((e) => e);
    expect(second).toMatchObject({ code: "rate_limited" });
    // The OpenAI backend's slot is free.
    expect((await router.generate({ ...input, model: "gpt-image-1" }, never)).backend).toBe(
      "openai",
    );
    expect((await slow).backend).toBe("automatic1111");
  });

  it("edits on the routed backend with its own capabilities", async () => {
    const router = await routed();
    expect(backendFor(router, "gpt-image-1").editCapabilities).toEqual({
      mask: true,
      maxImages: 16,
      strength: false,
    });
    expect(backendFor(router, "sd-v1-5").editCapabilities?.strength).toBe(true);
  });

  it("is ready only when every backend answers, and names the one that does not", async () => {
    const router = await routed();
    await router.health();
    await a1111!.close();
    a1111 = undefined;
    const error = await router.health().catch((e) => e);
    expect(error).toMatchObject({ code: "backend_unavailable" });
    expect(error.message).toContain("sd");
    expect(error.message).not.toContain("cloud");
  });

  it("refuses one model served by two backends, and an unknown default", () => {
    const g = createPlaceholderGenerator();
    const limiter = createLimiter({ concurrency: 1, queue: 0 });
    expect(() =>
      createRoutingGenerator(
        [
          { name: "a", generator: g, models: ["m"], limiter },
          { name: "b", generator: createPlaceholderGenerator(), models: ["m"], limiter },
        ],
        "a",
      ),
    ).toThrow(/is served by two backends: a and b/);
    expect(() =>
      createRoutingGenerator([{ name: "a", generator: g, models: [], limiter }], "z"),
    ).toThrow(/no backend named z/);
  });
});
