import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyScores } from "../classify/categories.js";
import {
  createImageClassifier,
  type ImageClassifier,
  type ImageResult,
  sexualScore,
} from "../classify/image/index.js";
import { createTextClassifier } from "../classify/text/index.js";
import type { GeneratedImage } from "../generate/index.js";
import { decide, loadPolicyFile, type Policy } from "../policy/index.js";
import {
  applyMinorsRule,
  decodeOutputs,
  inputFaceScores,
  outputAuditView,
  screenOutputs,
} from "./screen-output.js";

const POLICY = join(import.meta.dirname, "..", "..", "policies", "default.yaml");

function result(sexual: number, ages: number[], faces = true): ImageResult {
  const scores = emptyScores();
  scores.sexual = { score: sexual, spans: [] };
  return {
    scores,
    faces: ages.map((age) => ({ box: { x: 0, y: 0, width: 10, height: 10 }, age, score: 0.9 })),
    agesEstimated: true,
    text: [],
    textPasses: 1,
    pdq: { hash: "0".repeat(64), quality: 100 },
    hashListMatches: [],
    sources: { nsfw: true, faces, ocr: true, pdq: true },
    width: 100,
    height: 100,
    timings: { decode: 0, nsfw: 0, pdq: 0, ocr: 0, faces: 0, total: 0 },
  };
}

describe("the minors rule", () => {
  let policy: Policy;
  beforeAll(async () => {
    policy = await loadPolicyFile(POLICY);
  });

  it("blocks sexual content with a face under the default minor age (25), as sexual/minors", () => {
    expect(policy.faces).toEqual({ minor_age: 25, input_with_face: "review" });
    const scores = applyMinorsRule(policy, result(0.55, [40, 21]));
    expect(scores["sexual/minors"].score).toBe(1);
    expect(scores["sexual/minors"].spans[0]).toMatchObject({ source: "faces" });
    const d = decide(policy, [{ screen: "output[0]", scores }]);
    expect(d.action).toBe("block");
    expect(d.fired[0]).toBe("sexual/minors");
  });

  it("leaves adults, non-sexual images and images without faces alone", () => {
    for (const r of [result(0.9, [30, 45]), result(0.3, [12]), result(0.9, [])]) {
      expect(applyMinorsRule(policy, r)["sexual/minors"].score).toBe(0);
    }
    // Sexual alone is still decided by its own thresholds (review at 0.55).
    const d = decide(policy, [
      { screen: "o", scores: applyMinorsRule(policy, result(0.55, [40])) },
    ]);
    expect([d.action, d.fired]).toEqual(["review", ["sexual"]]);
  });

  it("follows the policy's minor_age and does not assume no faces when faces did not run", () => {
    const strict = { ...policy, faces: { minor_age: 30, input_with_face: "review" as const } };
    expect(applyMinorsRule(strict, result(0.6, [28]))["sexual/minors"].score).toBe(1);
    expect(applyMinorsRule(policy, result(0.6, [28]))["sexual/minors"].score).toBe(0);
    expect(applyMinorsRule(policy, result(0.6, [10], false))["sexual/minors"].score).toBe(0);
  });
});

describe("the input-with-a-face rule (edits)", () => {
  it("holds an input showing a face for review by default; allow and block follow the policy", async () => {
    const policy = await loadPolicyFile(POLICY);
    const held = decide(policy, [
      { screen: "input", scores: inputFaceScores(policy, result(0, [35])) },
    ]);
    expect([held.action, held.fired]).toEqual(["review", ["public-figure"]]);
    const none = inputFaceScores(policy, result(0, []));
    expect(none["public-figure"].score).toBe(0);
    const block = { ...policy, faces: { minor_age: 25, input_with_face: "block" as const } };
    expect(
      decide(block, [{ screen: "input", scores: inputFaceScores(block, result(0, [35])) }]).action,
    ).toBe("block");
    const allow = { ...policy, faces: { minor_age: 25, input_with_face: "allow" as const } };
    expect(inputFaceScores(allow, result(0, [35]))["public-figure"].score).toBe(0);
  });
});

describe("the output screen with the real models", () => {
  let policy: Policy;
  let images: ImageClassifier;
  const portrait = (): GeneratedImage[] => [
    {
      bytes: readFileSync(join(import.meta.dirname, "..", "classify/image/fixtures/astronaut.jpg")),
      mediaType: "image/jpeg",
      width: 320,
      height: 320,
      seed: 1,
    },
  ];
  beforeAll(async () => {
    policy = await loadPolicyFile(POLICY);
    images = await createImageClassifier({
      modelsDir: join(import.meta.dirname, "..", "..", "models"),
      ocr: false,
      sessionOptions: { intraOpNumThreads: 1 },
    });
  });
  afterAll(() => images.close());

  it("estimates ages only from the policy's sexual review threshold on, where the minors rule reads them", async () => {
    // The portrait is not sexual: its face is found, its age not estimated, nothing fires.
    const plain = await screenOutputs(images, portrait(), policy);
    expect(plain.results[0]!.scores.sexual.score).toBeLessThan(policy.categories.sexual.review);
    expect(plain.results[0]!.faces).toHaveLength(1);
    expect(plain.results[0]!.agesEstimated).toBe(false);
    expect(plain.screens[0]!.scores["sexual/minors"].score).toBe(0);
    expect(outputAuditView(plain)).toMatchObject([
      { ages_estimated: false, faces: [{ age: null }] },
    ]);
    // A policy that reviews from 0 and counts every apparent age as a minor's: the age is
    // estimated and the rule fires, as it would on a sexual image.
    const strict = {
      ...policy,
      categories: { ...policy.categories, sexual: { ...policy.categories.sexual, review: 0 } },
      faces: { minor_age: 120, input_with_face: "review" as const },
    };
    const screened = await screenOutputs(images, portrait(), strict);
    expect(screened.results[0]!.agesEstimated).toBe(true);
    expect(screened.results[0]!.faces[0]!.age).toBeGreaterThan(18);
    expect(screened.screens[0]!.scores["sexual/minors"].score).toBe(1);
  });

  it("screens pixels decoded once exactly as it screens the encoded bytes", async () => {
    const [decoded] = await decodeOutputs(portrait(), 10_000_000);
    expect(decoded!.raw).toMatchObject({ width: 320, height: 320, channels: 3 });
    const fromBytes = await screenOutputs(images, portrait(), policy);
    const fromPixels = await screenOutputs(images, [decoded!], policy);
    expect(outputAuditView(fromPixels)).toEqual(outputAuditView(fromBytes));
    // The decode keeps the pixel limit: an output past it is refused, not screened.
    await expect(decodeOutputs(portrait(), 320 * 320 - 1)).rejects.toMatchObject({
      code: "image_too_large",
    });
  });

  it("screens again with ages when text read in the image makes it sexual (the nudity model did not)", async () => {
    const text = await createTextClassifier({
      lexiconDir: join(import.meta.dirname, "..", "..", "policies", "lexicons"),
    });
    const classifier = await createImageClassifier({
      modelsDir: join(import.meta.dirname, "..", "..", "models"),
      textScreen: text,
      sessionOptions: { intraOpNumThreads: 1 },
    });
    // The real classifier, with the options of each call noted.
    const calls: unknown[] = [];
    const reading: ImageClassifier = {
      ...classifier,
      classify: (input, options) => {
        calls.push(options);
        return classifier.classify(input, options);
      },
    };
    try {
      const [image] = portrait();
      const banner = Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="70"><rect width="100%" height="100%" fill="#fff"/><text x="160" y="52" font-family="DejaVu Sans" font-weight="bold" font-size="48" text-anchor="middle" fill="#000">PORN</text></svg>`,
      );
      const bytes = await sharp(image!.bytes)
        .composite([{ input: banner, top: 250, left: 0 }])
        .jpeg()
        .toBuffer();
      const strict = { ...policy, faces: { minor_age: 120, input_with_face: "review" as const } };
      const screened = await screenOutputs(reading, [{ ...image!, bytes }], strict);
      const r = screened.results[0]!;
      expect(r.nsfw && sexualScore(r.nsfw)).toBeLessThan(policy.categories.sexual.review);
      expect(r.scores.sexual.score).toBeGreaterThanOrEqual(policy.categories.sexual.review);
      expect(r.agesEstimated).toBe(true);
      expect(r.faces[0]!.age).toBeGreaterThan(0);
      expect(screened.screens[0]!.scores["sexual/minors"].score).toBe(1);
      // Screened again for the ages only: the text read the first time stands.
      expect(calls).toEqual([
        { ageFromSexual: policy.categories.sexual.review },
        { skipText: true },
      ]);
      expect(r.text.map((l) => l.text)).toContain("PORN");
      expect(r.sources.ocr).toBe(true);
    } finally {
      await classifier.close();
      await text.close();
    }
  });
});
