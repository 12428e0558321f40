import { existsSync, readFileSync } from "node:fs";
import ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../db/test-databases.js";
import { maskPng, photo, postEdit } from "../http/routes/images-edits.test-support.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { createEmbeddedGenerator, EMBEDDED_MODEL } from "./embedded.js";
import { loadClipTokenizer, type OnnxSdGenerator } from "./onnx-sd/index.js";

const DIR = new URL("../../models/embedded-diffusion", import.meta.url).pathname;
const parity = JSON.parse(readFileSync(`${DIR}/parity.json`, "utf8")) as {
  caption: string;
  input_ids: number[];
  last_hidden_state_first16: number[];
  unet_timestep: number;
  unet_sample: number[];
  out_sample_first16: number[];
};
const live = () => new AbortController().signal;
/** A gateway loads every screening model; on a busy shared machine that takes minutes. */
const STARTUP_MS = 300_000;

describe("the embedded diffusion model", () => {
  let g: OnnxSdGenerator;
  beforeAll(async () => {
    g = await createEmbeddedGenerator({ dir: DIR, steps: 10 });
  });
  afterAll(() => g.close());

  it("ships every file of the SD export layout", () => {
    for (const f of [
      "model_index.json",
      "text_encoder/model.onnx",
      "unet/model.onnx",
      "vae_decoder/model.onnx",
      "vae_encoder/model.onnx",
      "tokenizer/vocab.json",
      "tokenizer/merges.txt",
      "scheduler/scheduler_config.json",
    ]) {
      expect(existsSync(`${DIR}/${f}`), f).toBe(true);
    }
  });

  it("runs in ONNX Runtime as it ran in PyTorch (parity.json, written at export)", async () => {
    const tokenizer = await loadClipTokenizer(`${DIR}/tokenizer`);
    const ids = tokenizer.encode(parity.caption);
    expect(ids).toEqual(parity.input_ids);
    const text = await ort.InferenceSession.create(`${DIR}/text_encoder/model.onnx`);
    const unet = await ort.InferenceSession.create(`${DIR}/unet/model.onnx`);
    const hidden = (
      await text.run({ input_ids: new ort.Tensor("int32", Int32Array.from(ids), [1, ids.length]) })
    ).last_hidden_state as ort.Tensor;
    const h = hidden.data as Float32Array;
    const dim = hidden.dims[2] as number;
    const first16 = [...h.subarray(0, 8), ...h.subarray(dim, dim + 8)];
    for (const [i, v] of first16.entries()) {
      expect(v).toBeCloseTo(parity.last_hidden_state_first16[i] as number, 4);
    }
    const channels = parity.unet_sample.length / 64;
    const out = (
      await unet.run({
        sample: new ort.Tensor("float32", Float32Array.from(parity.unet_sample), [
          1,
          channels,
          8,
          8,
        ]),
        timestep: new ort.Tensor("int64", BigInt64Array.of(BigInt(parity.unet_timestep)), [1]),
        encoder_hidden_states: hidden,
      })
    ).out_sample as ort.Tensor;
    for (const [i, v] of [...(out.data as Float32Array).subarray(0, 16)].entries()) {
      expect(v).toBeCloseTo(parity.out_sample_first16[i] as number, 3);
    }
    await Promise.all([text.release(), unet.release()]);
  });

  it("denoises at 32×32 and upscales to the requested size, and says so", async () => {
    const out = await g.generate(
      { prompt: "a red apple", width: 512, height: 512, n: 2, seed: 11 },
      live(),
    );
    expect(out).toMatchObject({
      backend: "embedded",
      placeholder: false,
      model: { id: EMBEDDED_MODEL },
      parameters: { native_resolution: "32x32", upscaled: true, steps: 10 },
    });
    expect(out.images.map((i) => i.seed)).toEqual([11, 12]);
    const meta = await sharp(out.images[0]?.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 512, 512]);
    const again = await g.generate(
      { prompt: "a red apple", width: 512, height: 512, n: 1, seed: 11 },
      live(),
    );
    expect(again.images[0]?.bytes.equals(out.images[0]?.bytes as Buffer)).toBe(true);
  });

  it("follows the caption: a red apple is redder than a blue car, and the car bluer", async () => {
    // Mean red minus blue of the pixels, over four seeds (the same seeds for both prompts).
    const redness = async (prompt: string) => {
      const out = await g.generate({ prompt, width: 32, height: 32, n: 4, seed: 100 }, live());
      let sum = 0;
      for (const image of out.images) {
        const { channels } = await sharp(image.bytes).stats();
        sum += (channels[0]!.mean - channels[2]!.mean) / out.images.length;
      }
      return sum;
    };
    const apple = await redness("a red apple");
    const car = await redness("a blue car");
    expect(apple).toBeGreaterThan(15);
    expect(car).toBeLessThan(-15);
  });

  it("img2img through the model's linear VAE: strength 0 gives the input back", async () => {
    const raw = Buffer.alloc(32 * 32 * 3, 0);
    for (let i = 0; i < raw.length; i += 3) raw[i] = 200;
    const image = await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toBuffer();
    const out = await g.edit?.(
      { prompt: "a red square", width: 32, height: 32, n: 1, seed: 1, image, strength: 0 },
      live(),
    );
    const back = await sharp(out?.images[0]?.bytes).raw().toBuffer();
    expect(back.equals(raw)).toBe(true);
  });
});

describe.each(testDatabases())("HALLMARK_BACKEND=embedded on $name", (testDb) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDb, {
      HALLMARK_BACKEND: "embedded",
      HALLMARK_EMBEDDED_STEPS: "6",
    });
  }, STARTUP_MS);
  afterAll(() => gw.close(), STARTUP_MS);

  it("serves a real diffusion image with its model, licence and marks", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "a yellow sun over green hills", size: "256x256", seed: 3 },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.hallmark.placeholder).toBe(false);
    expect(body.hallmark.model.id).toBe(EMBEDDED_MODEL);
    expect(body.hallmark.licence).toBeDefined();
    expect(JSON.stringify(body.hallmark.licence)).toContain("hallmark-embedded-diffusion");
    const meta = await sharp(Buffer.from(body.data[0].b64_json, "base64")).metadata();
    expect([meta.width, meta.height]).toEqual([256, 256]);
  });

  it("edits with a strength and inpaints a mask: outside the hole the input stays, inside it is new", async () => {
    const input = await photo(256, 256);
    const res = await postEdit(gw, {
      image: { bytes: input },
      // OpenAI's form: transparent = edit. The right half is the hole.
      mask: { bytes: await maskPng(256, 256, { x: 128, y: 0, width: 128, height: 256 }) },
      prompt: "a red apple",
      size: "256x256",
      strength: "0.9",
      seed: "4",
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.hallmark.placeholder).toBe(false);
    const out = await sharp(Buffer.from(body.data[0].b64_json, "base64"))
      .removeAlpha()
      .raw()
      .toBuffer();
    const src = await sharp(input).raw().toBuffer();
    // Mean absolute difference per sample over each half (the watermark moves pixels a little).
    const diff = (right: boolean) => {
      let sum = 0;
      for (let y = 0; y < 256; y++) {
        for (let x = right ? 128 : 0; x < (right ? 256 : 128); x++) {
          for (let c = 0; c < 3; c++) {
            const o = (y * 256 + x) * 3 + c;
            sum += Math.abs(out[o]! - src[o]!);
          }
        }
      }
      return sum / (128 * 256 * 3);
    };
    expect(diff(false)).toBeLessThan(3);
    expect(diff(true)).toBeGreaterThan(20);
  });
});

describe.each(testDatabases())("HALLMARK_BACKEND=onnx-sd on $name", (testDb) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDb, {
      HALLMARK_BACKEND: "onnx-sd",
      HALLMARK_ONNX_SD_DIR: new URL("./onnx-sd/fixtures/tiny-sd", import.meta.url).pathname,
      HALLMARK_ONNX_SD_MODEL: "stable-diffusion-v1-5",
      HALLMARK_ONNX_SD_STEPS: "3",
      HALLMARK_ONNX_SD_SAMPLER: "ddim",
    });
  }, STARTUP_MS);
  afterAll(() => gw.close(), STARTUP_MS);

  it("runs an SD export folder named by the configuration, audited under its model's licence", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "a lighthouse at dusk", size: "256x256", seed: 3 },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.hallmark.placeholder).toBe(false);
    expect(body.hallmark.model.id).toBe("stable-diffusion-v1-5");
    expect(JSON.stringify(body.hallmark.licence)).toContain("creativeml-openrail-m");
  });
});
