import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTextClassifier, type TextClassifier } from "../text/index.js";
import { createImageClassifier, type ImageClassifier } from "./classifier.js";
import { packagedOcrModels } from "./ocr.js";
import { boxesFromProbability, detectionSize, detectionTensor } from "./ocr-detect.js";
import { convexHull, corners, minAreaRect, readingOrder, unclip } from "./ocr-geometry.js";
import { ocrConfusionVariant } from "./ocr-match.js";
import { ctcGreedy } from "./ocr-recognise.js";
import { bridgeJpeg } from "./test-images.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");

describe("PaddleOCR model files", () => {
  it("are the files whose sha256 models/ocr/README.md states", () => {
    const card = readFileSync(join(ROOT, "models/ocr/README.md"), "utf8");
    const files = packagedOcrModels();
    for (const path of [files.detection, files.recognition, files.dictionary]) {
      const sha = createHash("sha256").update(readFileSync(path)).digest("hex");
      expect(card).toContain(`| ${basename(path)} | \`${sha}\` |`);
    }
  });
});

describe("OCR geometry", () => {
  it("finds the rotated rectangle around a rotated rectangle's points", () => {
    const rect = { cx: 50, cy: 40, width: 60, height: 20, angle: Math.PI / 6 };
    const r = minAreaRect(convexHull(corners(rect)));
    expect(r.width * r.height).toBeCloseTo(1200, 6);
    const o = readingOrder(r);
    expect(o.width).toBeCloseTo(60, 6);
    expect(o.height).toBeCloseTo(20, 6);
    expect((o.angle * 180) / Math.PI).toBeCloseTo(30, 6);
    expect([o.cx, o.cy]).toEqual([expect.closeTo(50, 6), expect.closeTo(40, 6)]);
  });

  it("unclips by area · ratio / perimeter on every side", () => {
    const r = unclip({ cx: 0, cy: 0, width: 30, height: 10, angle: 0 }, 1.5);
    const d = (300 * 1.5) / 80;
    expect(r.width).toBeCloseTo(30 + 2 * d);
    expect(r.height).toBeCloseTo(10 + 2 * d);
  });

  it("reads vertical boxes upwards and horizontal ones rightwards", () => {
    expect(readingOrder({ cx: 0, cy: 0, width: 10, height: 40, angle: 0 }).angle).toBeCloseTo(
      -Math.PI / 2,
    );
    expect(readingOrder({ cx: 0, cy: 0, width: 40, height: 10, angle: Math.PI }).angle).toBeCloseTo(
      0,
    );
  });
});

describe("text detection post-processing", () => {
  it("turns each confident blob of the probability map into one grown box", () => {
    const w = 64;
    const h = 32;
    const prob = new Float32Array(w * h);
    for (let y = 10; y < 16; y++) for (let x = 8; x < 40; x++) prob[y * w + x] = 0.9;
    for (let y = 24; y < 27; y++) for (let x = 50; x < 60; x++) prob[y * w + x] = 0.4; // weak
    const boxes = boxesFromProbability(prob, w, h, 2, 2);
    expect(boxes).toHaveLength(1);
    const b = boxes[0]!;
    expect(b.score).toBeCloseTo(0.9, 5);
    // 32 × 6 kernel grown by d = 192·1.5/76, then scaled by 2.
    const d = (192 * 1.5) / 76;
    expect(b.rect.width).toBeCloseTo((32 + 2 * d) * 2, 4);
    expect(b.rect.height).toBeCloseTo((6 + 2 * d) * 2, 4);
    expect([b.rect.cx, b.rect.cy]).toEqual([expect.closeTo(48, 4), expect.closeTo(26, 4)]);
  });

  it("rounds the detector's input to multiples of 32 under the side limit", () => {
    expect(detectionSize(1024, 1024, 960)).toEqual({ width: 960, height: 960 });
    expect(detectionSize(20000, 20, 960)).toEqual({ width: 960, height: 32 });
    expect(detectionSize(1, 1, 960)).toEqual({ width: 32, height: 32 });
  });

  it("builds the detector's input as PaddleOCR does: planar BGR, ImageNet-normalised, alpha on white", async () => {
    // A photo with transparent corners, so that the flattening onto white is exercised too.
    const w = 96;
    const h = 64;
    const { data } = await sharp(bridgeJpeg())
      .resize(w, h, { fit: "fill" })
      .ensureAlpha()
      .composite([
        {
          input: Buffer.from(
            `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="20" height="20" fill="#000" fill-opacity="1"/></svg>`,
          ),
          blend: "dest-out",
        },
      ])
      .raw()
      .toBuffer({ resolveWithObject: true });
    const x = await detectionTensor({ data, width: w, height: h, channels: 4 }, w, h);
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const plane = w * h;
    const want = new Float32Array(3 * plane);
    for (let p = 0; p < plane; p++) {
      const alpha = data[p * 4 + 3]! / 255;
      for (let c = 0; c < 3; c++) {
        // Tensor channel c is B, G, R; a transparent pixel is white.
        const v = Math.round(data[p * 4 + (2 - c)]! * alpha + 255 * (1 - alpha));
        want[c * plane + p] = (v / 255 - mean[c]!) / std[c]!;
      }
    }
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(x[i]! - want[i]!));
    // Exact where the pixels are opaque; sharp's flattening may round a half-transparent edge
    // pixel the other way (one 8-bit step, 1/(255·0.224) ≈ 0.018).
    expect(worst).toBeLessThan(0.02);
    expect(x[0]).toBeCloseTo((1 - mean[0]!) / std[0]!, 5); // the transparent corner: white
    const opaque = (h - 1) * w + (w - 1); // the bottom-right pixel
    for (let c = 0; c < 3; c++) {
      expect(x[c * plane + opaque]).toBe(
        Math.fround((data[opaque * 4 + (2 - c)]! / 255 - mean[c]!) / std[c]!),
      );
    }
  });
});

describe("OCR confusion variant", () => {
  it("reads l as I at a word's start and between capitals, and | as I", () => {
    expect(ocrConfusionVariant("Getty lmages")).toBe("Getty Images");
    expect(ocrConfusionVariant("DEPOSlTPHOTOS |Stock")).toBe("DEPOSITPHOTOS IStock");
    expect(ocrConfusionVariant("alamy hello")).toBe("alamy hello");
  });
});

describe("CTC greedy decoding", () => {
  it("merges repeats, drops blanks and keeps a repeated letter split by a blank", () => {
    const dict = ["", "l", "o", "h", "e", " "];
    const path = [3, 3, 4, 0, 1, 1, 0, 1, 2, 0];
    const probs = new Float32Array(path.length * dict.length);
    path.forEach((c, t) => {
      probs.fill(0.02, t * dict.length, (t + 1) * dict.length);
      probs[t * dict.length + c] = 0.9;
    });
    const d = ctcGreedy(probs, path.length, dict.length, dict);
    expect(d.text).toBe("hello");
    expect(d.confidence).toBeCloseTo(0.9, 6);
  });
});

describe("text in the image, through the classifier", () => {
  let text: TextClassifier;
  let images: ImageClassifier;
  beforeAll(async () => {
    text = await createTextClassifier({ lexiconDir: join(ROOT, "policies/lexicons") });
    images = await createImageClassifier({
      modelsDir: join(ROOT, "models"),
      textScreen: text,
      sessionOptions: { intraOpNumThreads: 1 },
    });
  });
  afterAll(async () => {
    await images.close();
    await text.close();
  });

  const stamped = async (label: string, angle: number, size = 56, photo: Buffer = bridgeJpeg()) => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="502"><text x="400" y="260" font-family="DejaVu Sans" font-weight="bold" font-size="${size}" fill="#fff" fill-opacity="0.7" text-anchor="middle" transform="rotate(${angle} 400 260)">${label}</text></svg>`;
    return sharp(photo)
      .resize(800, 502)
      .composite([{ input: Buffer.from(svg) }])
      .png()
      .toBuffer();
  };

  it("reads a stock-photo mark and scores it as intellectual property, with its box", async () => {
    const r = await images.classify(await stamped("Getty Images", -20));
    expect(images.models.ocr).toBe(true);
    expect(r.sources.ocr).toBe(true);
    const line = r.text.find((l) => /getty/i.test(l.text));
    expect(line).toBeDefined();
    expect(line!.confidence).toBeGreaterThan(0.8);
    expect(line!.angle).toBeGreaterThan(-30);
    expect(line!.angle).toBeLessThan(-10);
    expect(line!.box.x).toBeGreaterThan(150);
    expect(line!.box.x + line!.box.width).toBeLessThan(650);
    const ip = r.scores["intellectual-property"];
    expect(ip.score).toBeGreaterThanOrEqual(0.8);
    expect(ip.spans).toContainEqual(
      expect.objectContaining({ term: "getty images", source: "ocr" }),
    );
  });

  it("reads a mark whose words were boxed apart as one term (a turned banner, wide spacing)", async () => {
    // Monospaced, four spaces between the words, turned -20°: the detector boxes the words
    // apart, and reading order puts "Images" (higher up) before "Getty".
    const turn = 'transform="rotate(-20 400 250)"';
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="502"><rect x="120" y="215" width="560" height="70" fill="#000" fill-opacity="0.4" ${turn}/><text x="400" y="265" font-family="DejaVu Sans Mono" font-size="44" fill="#fff" fill-opacity="0.85" text-anchor="middle" xml:space="preserve" ${turn}>Getty    Images</text></svg>`;
    const png = await sharp(bridgeJpeg())
      .resize(800, 502)
      .composite([{ input: Buffer.from(svg) }])
      .png()
      .toBuffer();
    const r = await images.classify(png);
    expect(r.text.map((l) => l.text.trim())).toEqual(["Images", "Getty"]);
    expect(r.scores["intellectual-property"].score).toBeGreaterThanOrEqual(0.8);
    expect(r.scores["intellectual-property"].spans).toContainEqual(
      expect.objectContaining({ term: "getty images", source: "ocr" }),
    );
  });

  it("reads text turned 90° clockwise (the detector cannot tell its start)", async () => {
    const dark = await sharp({
      create: { width: 800, height: 502, channels: 3, background: "#30404a" },
    })
      .png()
      .toBuffer();
    const r = await images.classify(await stamped("shutterstock", 90, 40, dark));
    expect(r.text.map((l) => l.text.toLowerCase())).toContain("shutterstock");
  });

  it("finds no text on the plain photo and scores nothing from it", async () => {
    const r = await images.classify(bridgeJpeg());
    expect(r.sources.ocr).toBe(true);
    expect(r.scores["intellectual-property"].score).toBe(0);
    expect(Object.values(r.scores).flatMap((s) => s.spans)).toEqual([]);
  });

  it("reads small letters at the default detection side that a coarse one loses", async () => {
    // 24 px letters in a 1280×800 image: 18 px after the default 960 px pass's shrink, 9 px at
    // 480 px (HALLMARK_OCR_DETECTION_SIDE trades small letters for time).
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1280" height="800"><text x="640" y="420" font-family="DejaVu Sans" font-weight="bold" font-size="24" fill="#fff" fill-opacity="0.8" text-anchor="middle">Shutterstock</text></svg>`;
    const png = await sharp(bridgeJpeg())
      .resize(1280, 800)
      .composite([{ input: Buffer.from(svg) }])
      .png()
      .toBuffer();
    const terms = (r: Awaited<ReturnType<ImageClassifier["classify"]>>) =>
      r.scores["intellectual-property"].spans.map((s) => s.term);
    expect(terms(await images.classify(png))).toContain("shutterstock");
    const coarse = await createImageClassifier({
      modelsDir: join(ROOT, "models"),
      textScreen: text,
      sessionOptions: { intraOpNumThreads: 1 },
      faces: false,
      ocr: { detectionSide: 480 },
    });
    try {
      const r = await coarse.classify(png);
      expect(r.sources.ocr).toBe(true);
      expect(terms(r)).toEqual([]);
    } finally {
      await coarse.close();
    }
  });

  it("finds a diagonal preview mark only with a turned pass (the upright pass gives no box)", async () => {
    // Agencies' preview style: white at 45 % with a faint outline, rising at 45°; the upright
    // pass reads "Getty" at most.
    const copies = [
      [300, 330],
      [700, 760],
    ].map(
      ([x, y]) =>
        `<text x="${x}" y="${y}" font-family="DejaVu Sans" font-size="72" text-anchor="middle" fill="#fff" fill-opacity="0.45" stroke="#000" stroke-opacity="0.3" stroke-width="3.9" paint-order="stroke" transform="rotate(-45 ${x} ${y})">Getty Images</text>`,
    );
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024">${copies.join("")}</svg>`;
    const png = await sharp(bridgeJpeg())
      .resize(1024, 1024, { fit: "cover" })
      .composite([{ input: Buffer.from(svg) }])
      .png()
      .toBuffer();
    const terms = (r: Awaited<ReturnType<ImageClassifier["classify"]>>) =>
      r.scores["intellectual-property"].spans.map((s) => s.term);
    expect(terms(await images.classify(png))).not.toContain("getty images");
    const turned = await createImageClassifier({
      modelsDir: join(ROOT, "models"),
      textScreen: text,
      sessionOptions: { intraOpNumThreads: 1 },
      faces: false,
      ocr: { turnedPasses: [{ side: 640, degrees: 45 }] },
    });
    try {
      const r = await turned.classify(png);
      // The upright map saw something text-like, so the turned pass ran.
      expect(r.textPasses).toBe(2);
      expect(terms(r)).toContain("getty images");
      // Boxes of the turned pass are turned back: the line rises at about 45° in the image.
      const line = r.text.find((l) => /getty images/i.test(l.text))!;
      expect(line.angle).toBeGreaterThan(-55);
      expect(line.angle).toBeLessThan(-35);
    } finally {
      await turned.close();
    }
  });

  it("skips the turned passes where the upright pass sees nothing text-like", async () => {
    const withPasses = (turnedPassGate?: number) =>
      createImageClassifier({
        modelsDir: join(ROOT, "models"),
        textScreen: text,
        sessionOptions: { intraOpNumThreads: 1 },
        faces: false,
        ocr: {
          turnedPasses: [
            { side: 640, degrees: 30 },
            { side: 640, degrees: -30 },
          ],
          turnedPassGate,
        },
      });
    const gated = await withPasses();
    const always = await withPasses(0);
    try {
      // The plain photo: its upright map peaks near 0, so only the upright pass runs ...
      const photo = await gated.classify(bridgeJpeg());
      expect(photo.textPasses).toBe(1);
      expect(photo.text).toEqual([]);
      // ... and the passes it skipped would have read nothing either.
      const forced = await always.classify(bridgeJpeg());
      expect(forced.textPasses).toBe(3);
      expect(forced.text).toEqual([]);
      // A mark makes the upright map peak: every pass runs.
      const marked = await gated.classify(await stamped("Getty Images", -20));
      expect(marked.textPasses).toBe(3);
    } finally {
      await gated.close();
      await always.close();
    }
  });

  it("reads the same mark with the 8-bit detector, and refuses to start without its ranges", async () => {
    const int8 = await createImageClassifier({
      modelsDir: join(ROOT, "models"),
      textScreen: text,
      faces: false,
      ocr: { detectorPrecision: "int8" },
      sessionOptions: { intraOpNumThreads: 1 },
    });
    try {
      const r = await int8.classify(await stamped("Getty Images", -20));
      expect(r.scores["intellectual-property"].spans).toContainEqual(
        expect.objectContaining({ term: "getty images", source: "ocr" }),
      );
      expect((await int8.classify(bridgeJpeg())).text).toEqual([]);
      // The audit row tells an 8-bit screening from a float one, and names its ranges file.
      const ranges = readFileSync(join(ROOT, "models", "ocr", "detector-int8-ranges.json"));
      expect(int8.versions.ocr).toMatchObject({
        precision: "int8",
        ranges: `int8-ranges@${createHash("sha256").update(ranges).digest("hex").slice(0, 12)}`,
        recogniser: expect.stringMatching(/^ch_PP-OCRv4_rec_infer@[0-9a-f]{12}$/),
      });
      expect(int8.versions.faces).toBeNull();
    } finally {
      await int8.close();
    }
    // models/ocr/detector-int8-ranges.json missing: a clear error at start, not a float fallback.
    const empty = mkdtempSync(join(tmpdir(), "no-ranges-"));
    try {
      await expect(
        createImageClassifier({
          modelsDir: empty,
          faces: false,
          ocr: { detectorPrecision: "int8" },
        }),
      ).rejects.toThrow(/detector-int8-ranges\.json/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("reports OCR absent when turned off", async () => {
    const off = await createImageClassifier({ modelsDir: join(ROOT, "models"), ocr: false });
    const r = await off.classify(bridgeJpeg());
    expect(r.sources.ocr).toBe(false);
    expect(r.text).toEqual([]);
    expect(r.textPasses).toBe(0);
    expect(off.versions.ocr).toBeNull();
    await off.close();
  });
});
