import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import {
  type FakeAutomatic1111,
  type FakeOpenAIImages,
  startFakeAutomatic1111,
  startFakeOpenAIImages,
} from "../../generate/index.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { maskPng, photo, postEdit } from "./images-edits.test-support.js";

/** Edits through the gateway to real backends' API shapes (fake upstreams on loopback). */
describe("edits through AUTOMATIC1111 and OpenAI-compatible backends (pglite)", () => {
  let a1111: FakeAutomatic1111;
  let openai: FakeOpenAIImages;
  let viaA1111: TestGateway;
  let viaOpenAI: TestGateway;
  beforeAll(async () => {
    a1111 = await startFakeAutomatic1111();
    openai = await startFakeOpenAIImages();
    viaA1111 = await startTestGateway(testDatabases()[0]!, {
      HALLMARK_BACKEND: "automatic1111",
      HALLMARK_A1111_URL: a1111.url,
    });
    viaOpenAI = await startTestGateway(testDatabases()[0]!, {
      HALLMARK_BACKEND: "openai",
      HALLMARK_OPENAI_URL: openai.url,
      HALLMARK_OPENAI_MODEL: "fake-image-1",
    });
  });
  afterAll(async () => {
    await Promise.all([viaA1111.close(), viaOpenAI.close()]);
    await Promise.all([a1111.close(), openai.close()]);
  });

  it("AUTOMATIC1111 gets img2img: the input fitted to the output size, the mask white-on-black, the strength", async () => {
    const input = await photo(400, 300, "jpeg");
    // OpenAI's mask on the input's own size: transparent left half.
    const mask = await maskPng(400, 300, { x: 0, y: 0, width: 200, height: 300 });
    const res = await postEdit(viaA1111, {
      image: { bytes: input, type: "image/jpeg", filename: "in.jpg" },
      mask: { bytes: mask },
      prompt: "a lighthouse at dusk",
      size: "256x256",
      strength: "0.45",
      seed: "9",
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await res.json();
    expect(body.hallmark).toMatchObject({ backend: "automatic1111", placeholder: false });
    expect(a1111.paths.at(-1)).toBe("/sdapi/v1/img2img");
    const sent = a1111.requests.at(-1)!;
    expect(sent).toMatchObject({
      prompt: "a lighthouse at dusk",
      denoising_strength: 0.45,
      seed: 9,
      width: 256,
      height: 256,
      inpainting_fill: 1,
    });
    const init = Buffer.from((sent.init_images as string[])[0]!, "base64");
    const initMeta = await sharp(init).metadata();
    expect([initMeta.format, initMeta.width, initMeta.height]).toEqual(["png", 256, 256]);
    const m = await sharp(Buffer.from(sent.mask as string, "base64"))
      .toColourspace("b-w")
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([m.info.width, m.info.height]).toEqual([256, 256]);
    // Centre crop of 400×300 to a square keeps x 50..350: the left third of the crop is edited.
    expect(m.data[128 * 256 + 20]).toBe(255);
    expect(m.data[128 * 256 + 230]).toBe(0);
  });

  it("the OpenAI-compatible backend gets multipart edits with OpenAI's mask; strength is refused", async () => {
    const input = await photo(256, 256);
    const mask = await maskPng(256, 256, { x: 0, y: 0, width: 64, height: 64 });
    const res = await postEdit(viaOpenAI, {
      image: { bytes: input },
      mask: { bytes: mask },
      prompt: "a lighthouse at dusk",
      size: "256x256",
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const sent = openai.requests.at(-1)!;
    expect(sent.path).toBe("/v1/images/edits");
    expect(sent.body).toMatchObject({ model: "fake-image-1", size: "256x256", n: "1" });
    const alpha = await sharp(sent.body.mask as Buffer)
      .ensureAlpha()
      .extractChannel(3)
      .raw()
      .toBuffer();
    expect(alpha[10 * 256 + 10]).toBe(0);
    expect(alpha[200 * 256 + 200]).toBe(255);

    const refused = await postEdit(viaOpenAI, {
      image: { bytes: input },
      prompt: "a lighthouse at dusk",
      size: "256x256",
      strength: "0.5",
    });
    expect(refused.status).toBe(400);
    const error = (await refused.json()).error;
    expect(error).toMatchObject({ code: "edit_not_supported", param: "strength" });
  });

  it("OpenAI-compatible backends take several images as image[]", async () => {
    const res = await postEdit(viaOpenAI, {
      "image[]": [
        { bytes: await photo(64, 64, "png", 1) },
        { bytes: await photo(64, 64, "png", 2) },
      ],
      prompt: "a lighthouse at dusk",
      size: "256x256",
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((openai.requests.at(-1)!.body["image[]"] as Buffer[]).length).toBe(2);
  });
});
