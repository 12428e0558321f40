import fc from "fast-check";
import sharp from "sharp";
import { afterEach, describe, expect, it } from "vitest";
import { createComfyUIGenerator } from "./comfyui.js";
import {
  DEFAULT_COMFYUI_EDIT_WORKFLOW_PATH,
  DEFAULT_COMFYUI_WORKFLOW_PATH,
  fillComfyWorkflow,
  loadComfyWorkflow,
  parseComfyWorkflow,
} from "./comfyui-workflow.js";
import { type FakeComfyUI, startFakeComfyUI } from "./fake-comfyui.js";
import { withRetries } from "./retry.js";

const input = {
  prompt: "a smiling sun",
  negativePrompt: "text",
  width: 96,
  height: 64,
  n: 2,
  seed: 11,
};
const never = new AbortController().signal;
const workflow = await loadComfyWorkflow(DEFAULT_COMFYUI_WORKFLOW_PATH);
const editWorkflow = await loadComfyWorkflow(DEFAULT_COMFYUI_EDIT_WORKFLOW_PATH, "img2img");

/** A 96×64 PNG of one colour (the edit tests' input). */
function card(background: string): Promise<Buffer> {
  return sharp({ create: { width: 96, height: 64, channels: 3, background } })
    .png()
    .toBuffer();
}

describe("ComfyUI workflow template", () => {
  it("fills numbers as numbers and text inside strings, without touching the template", () => {
    const filled = fillComfyWorkflow(
      workflow,
      { ...input, prompt: 'say "{{seed}}" ]}' },
      "sd.ckpt",
    );
    expect(filled["3"]!.inputs.seed).toBe(11);
    expect(filled["5"]!.inputs).toMatchObject({ width: 96, height: 64, batch_size: 2 });
    expect(filled["6"]!.inputs.text).toBe('say "{{seed}}" ]}');
    expect(filled["7"]!.inputs.text).toBe("text");
    expect(filled["4"]!.inputs.ckpt_name).toBe("sd.ckpt");
    expect(workflow["3"]!.inputs.seed).toBe("{{seed}}");
  });

  it("places any prompt text verbatim and never changes the graph's shape (property)", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (p, neg, seed) => {
          const filled = fillComfyWorkflow(
            workflow,
            { ...input, prompt: p, negativePrompt: neg, seed },
            "m",
          );
          expect(filled["6"]!.inputs.text).toBe(p);
          expect(filled["7"]!.inputs.text).toBe(neg);
          expect(filled["3"]!.inputs.seed).toBe(seed);
          expect(Object.keys(filled)).toEqual(Object.keys(workflow));
          expect(filled["3"]!.inputs.model).toEqual(["4", 0]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("an edit template must place {{image}}; {{denoise}} becomes a number", async () => {
    expect(() => parseComfyWorkflow(workflow, "img2img")).toThrow(/\{\{image\}\}/);
    const filled = fillComfyWorkflow(editWorkflow, input, "m", { image: "in.png", denoise: 0.4 });
    expect(filled["10"]!.inputs.image).toBe("in.png");
    expect(filled["3"]!.inputs.denoise).toBe(0.4);
    expect(filled["12"]!.inputs.amount).toBe(2);
  });

  it("refuses a template that is not API format or places no prompt", () => {
    expect(() => parseComfyWorkflow({ nodes: [], links: [] })).toThrow(/API-format/);
    expect(() => parseComfyWorkflow({ "1": { class_type: "SaveImage", inputs: {} } })).toThrow(
      /\{\{prompt\}\}/,
    );
  });
});

describe("ComfyUI adapter against a fake upstream on loopback", () => {
  let fake: FakeComfyUI | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  /** A fake upstream and an adapter with the given edit template. */
  const editingGenerator = async (editWorkflow: unknown, latencyMs = 5) => {
    const upstream = await startFakeComfyUI({ latencyMs });
    fake = upstream;
    const g = createComfyUIGenerator({
      url: upstream.url,
      workflow,
      editWorkflow,
      maxPixels: 1e6,
      pollIntervalMs: 10,
    });
    return { g, upstream };
  };

  it("queues the filled workflow, polls /history and fetches each image through /view", async () => {
    fake = await startFakeComfyUI({ latencyMs: 60 });
    const g = createComfyUIGenerator({
      url: fake.url,
      workflow,
      maxPixels: 1e6,
      pollIntervalMs: 10,
    });
    const out = await g.generate(input, never);
    expect(fake.prompts[0]!["6"]!.inputs.text).toBe("a smiling sun");
    expect(fake.prompts[0]!["3"]!.inputs.seed).toBe(11);
    expect(fake.hits["/history"]).toBeGreaterThan(1);
    expect(fake.hits["/view"]).toBe(2);
    expect(out.images.map((i) => [i.width, i.height, i.mediaType])).toEqual([
      [96, 64, "image/png"],
      [96, 64, "image/png"],
    ]);
    expect(out).toMatchObject({
      backend: "comfyui",
      model: { id: "v1-5-pruned-emaonly.safetensors" },
    });
    await g.health();
  });

  it("maps failures to typed errors and never retries once the prompt is queued", async () => {
    for (const options of [{ executionError: true }, { missingImages: true }, { failWith: 400 }]) {
      fake = await startFakeComfyUI(options);
      const g = withRetries(
        createComfyUIGenerator({ url: fake.url, workflow, maxPixels: 1e6, pollIntervalMs: 5 }),
        { retries: 3, baseDelayMs: 1 },
      );
      await expect(g.generate(input, never)).rejects.toMatchObject({ code: "backend_error" });
      expect(fake.prompts).toHaveLength(1);
      await fake.close();
      fake = undefined;
    }
  });

  it("edits: uploads the input with POST /upload/image, then queues the img2img template", async () => {
    const { g, upstream } = await editingGenerator(editWorkflow, 20);
    expect(g.editCapabilities).toEqual({ mask: true, maxImages: 1, strength: true });
    const image = await card("teal");
    const out = await g.edit!({ ...input, image, strength: 0.35 }, never);
    // The input, and an all-white mask (denoise everywhere: plain img2img).
    expect(upstream.hits["/upload/image"]).toBe(2);
    const [[name, stored], [maskName, mask]] = [...upstream.uploads.entries()] as [
      [string, Buffer],
      [string, Buffer],
    ];
    expect(stored.equals(image)).toBe(true);
    expect(upstream.prompts[0]!["10"]!.inputs.image).toBe(name);
    expect(upstream.prompts[0]!["13"]!.inputs.image).toBe(maskName);
    const white = await sharp(mask).raw().toBuffer({ resolveWithObject: true });
    expect([white.info.width, white.info.height]).toEqual([96, 64]);
    expect(white.data.every((v) => v === 255)).toBe(true);
    expect(upstream.prompts[0]!["3"]!.inputs.denoise).toBe(0.35);
    expect(out.images.map((i) => [i.width, i.height])).toEqual([
      [96, 64],
      [96, 64],
    ]);
    expect(out.parameters).toMatchObject({ denoise: 0.35 });
  });

  it("inpaints: uploads the request's mask for LoadImageMask; the kept area comes back as it was", async () => {
    const { g, upstream } = await editingGenerator(editWorkflow);
    const image = await card("#ff0000");
    // White (repaint) on the right half.
    const m = Buffer.alloc(96 * 64);
    for (let p = 0; p < m.length; p++) m[p] = p % 96 >= 48 ? 255 : 0;
    const mask = await sharp(m, { raw: { width: 96, height: 64, channels: 1 } })
      .png()
      .toBuffer();
    const out = await g.edit!({ ...input, n: 1, image, mask, strength: 1 }, never);
    const uploaded = [...upstream.uploads.values()];
    expect(uploaded.some((b) => b.equals(mask))).toBe(true);
    expect(out.parameters).toMatchObject({ masked: true, denoise: 1 });
    const rgb = await sharp(out.images[0]!.bytes).raw().toBuffer();
    expect([...rgb.subarray(0, 3)]).toEqual([255, 0, 0]); // kept
    expect([...rgb.subarray(95 * 3, 96 * 3)]).toEqual([0, 90, 160]); // repainted
  });

  it("a template without {{mask}} edits without masks, and says so", async () => {
    const plain = parseComfyWorkflow(
      Object.fromEntries(
        Object.entries(editWorkflow)
          .filter(([id]) => id !== "13" && id !== "14")
          .map(([id, node]) =>
            id === "12"
              ? [id, { ...node, inputs: { ...node.inputs, samples: ["11", 0] } }]
              : [id, node],
          ),
      ),
      "img2img",
    );
    const { g, upstream } = await editingGenerator(plain);
    expect(g.editCapabilities).toEqual({ mask: false, maxImages: 1, strength: true });
    const image = await card("teal");
    await g.edit!({ ...input, n: 1, image }, never);
    expect(upstream.hits["/upload/image"]).toBe(1);
  });

  it("has no edit without an edit template", () => {
    const g = createComfyUIGenerator({ url: "http://127.0.0.1:1", workflow, maxPixels: 1e6 });
    expect(g.edit).toBeUndefined();
    expect(g.editCapabilities).toBeUndefined();
  });

  it("retries a 503 on POST /prompt", async () => {
    fake = await startFakeComfyUI({ failWith: 503, failFirst: 1 });
    const g = withRetries(
      createComfyUIGenerator({ url: fake.url, workflow, maxPixels: 1e6, pollIntervalMs: 5 }),
      { retries: 2, baseDelayMs: 1 },
    );
    await expect(g.generate(input, never)).resolves.toMatchObject({ backend: "comfyui" });
    expect(fake.prompts).toHaveLength(2);
  });

  it("on abort stops polling, deletes the prompt from the queue and interrupts it", async () => {
    fake = await startFakeComfyUI({ latencyMs: 5000 });
    const g = createComfyUIGenerator({
      url: fake.url,
      workflow,
      maxPixels: 1e6,
      pollIntervalMs: 10,
    });
    const started = Date.now();
    await expect(g.generate(input, AbortSignal.timeout(80))).rejects.toMatchObject({
      name: "TimeoutError",
    });
    expect(Date.now() - started).toBeLessThan(1500);
    for (let i = 0; i < 50 && (fake.interrupted.length === 0 || fake.deleted.length === 0); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(fake.deleted).toHaveLength(1);
    expect(fake.interrupted).toEqual(fake.deleted);
  });
});
