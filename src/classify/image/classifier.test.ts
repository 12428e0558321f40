import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseHashList } from "../../provenance/fingerprint/index.js";
import { createImageClassifier, type ImageClassifier } from "./classifier.js";
import { bridgeJpeg, FIXTURES } from "./test-images.js";

const MODELS = join(import.meta.dirname, "..", "..", "..", "models");
const BRIDGE_PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

describe("createImageClassifier", () => {
  let images: ImageClassifier;
  beforeAll(async () => {
    images = await createImageClassifier({
      modelsDir: MODELS,
      hashLists: [parseHashList("demo", `hash,label\n${BRIDGE_PDQ},bridge\n`)],
      sessionOptions: { intraOpNumThreads: 1 },
    });
  });
  afterAll(async () => {
    await images.close();
  });

  it("scores a benign photo low and hashes it", async () => {
    const r = await images.classify(bridgeJpeg());
    expect(r.sources).toEqual({ nsfw: true, faces: true, ocr: true, pdq: true });
    expect(r.faces).toEqual([]);
    expect(r.nsfw!.neutral + r.nsfw!.drawing).toBeGreaterThan(0.8);
    expect(r.scores.sexual.score).toBeLessThan(0.1);
    expect(Object.values(r.nsfw!).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(r.pdq.quality).toBe(100);
    expect(r.hashListMatches).toEqual([
      { list: "demo", label: "bridge", distance: expect.any(Number) },
    ]);
    expect(r.hashListMatches[0]!.distance).toBeLessThanOrEqual(10);
    expect([r.width, r.height]).toEqual([1600, 1004]);
  });

  it("finds a re-encoded, shrunk copy on the hash list and not an unrelated photo", async () => {
    const copy = await sharp(bridgeJpeg()).resize(700).webp({ quality: 70 }).toBuffer();
    expect((await images.classify(copy)).hashListMatches).toHaveLength(1);
    const other = await sharp(join(FIXTURES, "q2821.jpg")).toBuffer();
    expect((await images.classify(other)).hashListMatches).toEqual([]);
  });

  it("gives the same result for raw samples and their lossless encoding", async () => {
    const { data, info } = await sharp(bridgeJpeg())
      .resize(300)
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw = await images.classify({
      data,
      width: info.width,
      height: info.height,
      channels: 3,
    });
    const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
      .png()
      .toBuffer();
    const enc = await images.classify(png);
    expect(enc.pdq).toEqual(raw.pdq);
    expect(enc.scores.sexual.score).toBeCloseTo(raw.scores.sexual.score, 6);
  });

  it("screens 1×1, 20000×20 and transparent images without failing", async () => {
    const one = await images.classify({
      data: new Uint8Array([200, 10, 10]),
      width: 1,
      height: 1,
      channels: 3,
    });
    expect(one.pdq).toEqual({ hash: "0".repeat(64), quality: 0 });
    expect(one.hashListMatches).toEqual([]);
    expect(one.sources.nsfw).toBe(true);
    const strip = await sharp({
      create: { width: 20000, height: 20, channels: 3, background: "#3366aa" },
    })
      .png()
      .toBuffer();
    const s = await images.classify(strip);
    expect([s.width, s.height, s.pdq.quality]).toEqual([20000, 20, 0]);
    const clear = await sharp(bridgeJpeg()).resize(200).ensureAlpha(0).png().toBuffer();
    const c = await images.classify(clear);
    expect(c.nsfw!.neutral + c.nsfw!.drawing).toBeGreaterThan(0.5);
  });

  it("reports a missing model as absent, never as a score", async () => {
    const empty = mkdtempSync(join(tmpdir(), "models-"));
    try {
      const bare = await createImageClassifier({
        modelsDir: empty,
        ocr: {
          files: { detection: join(empty, "d"), recognition: join(empty, "r"), dictionary: "" },
        },
      });
      expect(bare.models).toEqual({ nsfw: false, faces: false, ocr: false });
      const r = await bare.classify(bridgeJpeg());
      expect(r.sources.nsfw).toBe(false);
      expect(r.nsfw).toBeUndefined();
      expect([r.sources.ocr, r.text]).toEqual([false, []]);
      expect(r.pdq.hash).toMatch(/^[0-9a-f]{64}$/);
      await bare.close();
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
