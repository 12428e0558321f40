import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";

const FIXTURES = join(import.meta.dirname, "..", "..", "provenance", "fingerprint", "fixtures");
const dataUrl = (bytes: Buffer, type = "image/png") =>
  `data:${type};base64,${bytes.toString("base64")}`;

async function stockMarked(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="402"><text x="320" y="210" font-family="DejaVu Sans" font-weight="bold" font-size="48" fill="#fff" fill-opacity="0.8" text-anchor="middle">shutterstock</text></svg>`;
  return sharp(readFileSync(join(FIXTURES, "bridge-1-original.jpg")))
    .resize(640, 402)
    .composite([{ input: Buffer.from(svg) }])
    .png()
    .toBuffer();
}

describe("POST /v1/moderations with images (pglite)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDatabases()[0]!, { HALLMARK_MAX_MODERATION_IMAGES: "2" });
  }, 240_000);
  afterAll(() => gw.close());

  it("screens text and a data-URL image as one input, in OpenAI's omni shape", async () => {
    const res = await gw.request("/v1/moderations", {
      json: {
        model: "omni-moderation-latest",
        input: [
          { type: "text", text: "a bridge over a river" },
          { type: "image_url", image_url: { url: dataUrl(await stockMarked()) } },
        ],
      },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.results).toHaveLength(1);
    const [r] = body.results;
    // The stock-photo mark read from the pixels flags intellectual property.
    expect(r.flagged).toBe(true);
    expect(r.categories["intellectual-property"]).toBe(true);
    expect(r.category_scores["intellectual-property"]).toBeGreaterThanOrEqual(0.8);
    expect(r.category_applied_input_types.sexual).toEqual(["text", "image"]);
    expect(r.category_applied_input_types["public-figure"]).toEqual(["text"]);
    expect(r.hallmark.spans).toContainEqual(
      expect.objectContaining({ term: "shutterstock", source: "ocr:image[1]" }),
    );
    const [img] = r.hallmark.images;
    expect(img).toMatchObject({ index: 1, width: 640, height: 402 });
    expect(img.sources).toEqual({ nsfw: true, faces: true, ocr: true, pdq: true });
    expect(body.model).toMatch(/^hallmark-omni-[0-9a-f]{12}$/);
    expect(r.hallmark.image_models.nsfw).toMatch(/^nsfw-mobilenet-v2@[0-9a-f]{12}$/);
    expect(r.hallmark.image_models.ocr.precision).toBe("float");
    expect(img.text.map((l: { text: string }) => l.text.toLowerCase())).toContain("shutterstock");
  }, 120_000);

  it("passes a benign photo with only image parts; text-only categories say no input types", async () => {
    const photo = readFileSync(join(FIXTURES, "bridge-1-original.jpg"));
    const res = await gw.request("/v1/moderations", {
      json: { input: [{ type: "image_url", image_url: { url: dataUrl(photo, "image/jpeg") } }] },
    });
    expect(res.status).toBe(200);
    const [r] = (await res.json()).results;
    expect(r.flagged).toBe(false);
    expect(r.category_applied_input_types.sexual).toEqual(["image"]);
    expect(r.category_applied_input_types["public-figure"]).toEqual([]);
    expect(r.category_scores.sexual).toBeLessThan(0.2);
  }, 120_000);

  it("refuses remote URLs without fetching them: 400 naming the part", async () => {
    for (const url of ["https://example.com/a.png", "http://127.0.0.1:8080/x.png"]) {
      const res = await gw.request("/v1/moderations", {
        json: { input: [{ type: "image_url", image_url: { url } }] },
      });
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.param).toBe("input[0].image_url.url");
      expect(error.message).toMatch(/not fetched/);
    }
  });

  it("answers bad data URLs, undecodable images and too many images with clear 4xx", async () => {
    const cases: Array<[unknown, number, string]> = [
      [
        [{ type: "image_url", image_url: { url: "data:text/plain;base64,aGk=" } }],
        400,
        "invalid_request_error",
      ],
      [
        [{ type: "image_url", image_url: { url: "data:image/png;base64,%%%" } }],
        400,
        "invalid_request_error",
      ],
      [
        [{ type: "image_url", image_url: { url: "data:image/png;base64," } }],
        400,
        "invalid_request_error",
      ],
      [
        [{ type: "image_url", image_url: { url: "data:image/png;base64,aGVsbG8gd29ybGQ=" } }],
        422,
        "invalid_image",
      ],
      [[{ type: "image_url", image_url: "x" }], 400, "invalid_request_error"],
      [[{ type: "video", video: {} }], 400, "invalid_request_error"],
      [[{ type: "text", text: "a", extra: 1 }], 400, "unknown_parameter"],
    ];
    for (const [input, status, code] of cases) {
      const res = await gw.request("/v1/moderations", { json: { input } });
      expect(res.status, JSON.stringify(input)).toBe(status);
      expect((await res.json()).error.code, JSON.stringify(input)).toBe(code);
    }
    const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#fff" } })
      .png()
      .toBuffer();
    const part = { type: "image_url", image_url: { url: dataUrl(tiny) } };
    const res = await gw.request("/v1/moderations", { json: { input: [part, part, part] } });
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/at most 2 images/);
  });
});
