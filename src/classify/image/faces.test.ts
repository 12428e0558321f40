import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageClassifier, type ImageClassifier } from "./classifier.js";
import { ageFromDistribution, faceCrop } from "./faces-age.js";
import { blazefaceAnchors, decodeBlazeface, iou, nonMaxSuppression } from "./faces-detect.js";
import { bridgeJpeg } from "./test-images.js";

const MODELS = join(import.meta.dirname, "..", "..", "..", "models");
const astronaut = () => readFileSync(join(import.meta.dirname, "fixtures", "astronaut.jpg"));

describe("BlazeFace decoding", () => {
  it("lays out 896 anchors: 16×16 cells × 2 at stride 16, then 8×8 × 6 at stride 32", () => {
    const a = blazefaceAnchors();
    expect(a.length).toBe(896 * 2);
    expect([a[0], a[1], a[2], a[3], a[4]]).toEqual([8, 8, 8, 8, 24]);
    expect([a[2 * 512], a[2 * 512 + 1]]).toEqual([16, 16]);
    expect([a[2 * 895], a[2 * 895 + 1]]).toEqual([240, 240]);
  });

  it("decodes a box around its anchor, scales it to the image and drops low scores", () => {
    const anchors = blazefaceAnchors();
    const logits = new Float32Array(896).fill(-10);
    const reg = new Float32Array(896 * 16);
    logits[600] = 3; // sigmoid 0.953
    reg.set([4, -2, 40, 50], 600 * 16);
    const [b, ...rest] = decodeBlazeface(logits, reg, anchors, 512, 256, 0.5);
    expect(rest).toEqual([]);
    const cx = (anchors[1200]! + 4) * 2;
    const cy = anchors[1201]! - 2;
    expect(b!.x + b!.width / 2).toBeCloseTo(cx, 4);
    expect(b!.y + b!.height / 2).toBeCloseTo(cy, 4);
    expect([b!.width, b!.height]).toEqual([80, 50]);
    expect(b!.score).toBeCloseTo(1 / (1 + Math.exp(-3)), 6);
  });

  it("keeps the best of overlapping boxes and separate faces apart", () => {
    const a = { x: 0, y: 0, width: 10, height: 10, score: 0.9 };
    const b = { x: 1, y: 1, width: 10, height: 10, score: 0.8 };
    const c = { x: 50, y: 50, width: 10, height: 10, score: 0.7 };
    expect(iou(a, b)).toBeCloseTo(81 / 119, 6);
    expect(nonMaxSuppression([c, b, a], 0.3, 10)).toEqual([a, c]);
    expect(nonMaxSuppression([c, b, a], 0.3, 1)).toEqual([a]);
  });
});

describe("faceres age reading", () => {
  it("is the expectation of the age distribution", () => {
    const p = new Float32Array(100);
    p[10] = 0.5;
    p[30] = 0.5;
    expect(ageFromDistribution(p)).toBeCloseTo(20, 5);
    expect(ageFromDistribution(new Float32Array(100))).toBe(0);
  });

  it("crops a square 1.4 times the face's longer side around its centre", () => {
    expect(faceCrop({ x: 10, y: 20, width: 100, height: 50, score: 1 })).toEqual({
      left: -10,
      top: -25,
      size: 140,
    });
  });
});

describe("faces through the classifier", () => {
  let images: ImageClassifier;
  beforeAll(async () => {
    images = await createImageClassifier({
      modelsDir: MODELS,
      ocr: false,
      sessionOptions: { intraOpNumThreads: 1 },
    });
  });
  afterAll(async () => {
    await images.close();
  });

  it("finds the one face in a portrait and reads an adult's apparent age", async () => {
    const r = await images.classify(astronaut());
    expect(images.models.faces).toBe(true);
    expect(r.sources.faces).toBe(true);
    expect(r.faces).toHaveLength(1);
    const f = r.faces[0]!;
    expect(f.score).toBeGreaterThan(0.8);
    // Her face is in the upper middle of the 320² picture.
    expect(f.box.x).toBeGreaterThan(80);
    expect(f.box.x + f.box.width).toBeLessThan(200);
    expect(f.box.y).toBeGreaterThan(20);
    expect(f.box.y + f.box.height).toBeLessThan(130);
    expect(f.age).toBeGreaterThan(25);
    expect(f.age).toBeLessThan(55);
  });

  it("skips the age model under ageFromSexual, still finding the face; estimates from it on", async () => {
    const always = await images.classify(astronaut());
    const sexual = always.scores.sexual.score;
    expect(always.agesEstimated).toBe(true);
    // Just above the portrait's own score: the age model does not run, the face is still found.
    const skipped = await images.classify(astronaut(), { ageFromSexual: sexual + 1e-6 });
    expect(skipped.faces).toHaveLength(1);
    expect(skipped.faces[0]!.age).toBeUndefined();
    expect(skipped.agesEstimated).toBe(false);
    expect(skipped.faces[0]!.box).toEqual(always.faces[0]!.box);
    // At its score exactly: the age is estimated, the same as without the option.
    const at = await images.classify(astronaut(), { ageFromSexual: sexual });
    expect(at.agesEstimated).toBe(true);
    expect(at.faces[0]!.age).toBe(always.faces[0]!.age);
  });

  it("finds the face again in a mirrored, re-encoded copy inside a larger frame", async () => {
    const framed = await sharp(astronaut())
      .flop()
      .extend({ left: 200, right: 100, top: 50, bottom: 150, background: "#335577" })
      .webp({ quality: 70 })
      .toBuffer();
    const r = await images.classify(framed);
    expect(r.faces).toHaveLength(1);
    expect(r.faces[0]!.box.x).toBeGreaterThan(200);
  });

  it("finds no face in a landscape, nor in a flat image", async () => {
    expect((await images.classify(bridgeJpeg())).faces).toEqual([]);
    const flat = await sharp({
      create: { width: 64, height: 64, channels: 3, background: "#808080" },
    })
      .png()
      .toBuffer();
    const r = await images.classify(flat);
    expect([r.sources.faces, r.faces]).toEqual([true, []]);
  });
});
