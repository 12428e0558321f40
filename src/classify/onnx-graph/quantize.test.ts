import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packagedOcrModels } from "../image/ocr.js";
import { createTextDetector, type TextDetector } from "../image/ocr-detect.js";
import {
  DETECTOR_INT8_RANGES_FILE,
  DetectorRangesError,
  loadDetectorQuantisation,
} from "../image/ocr-int8.js";
import { FIXTURES } from "../image/test-images.js";
import { QuantiseError, quantiseStatic } from "./index.js";
import { parseModel } from "./model.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const RANGES = join(ROOT, "models", DETECTOR_INT8_RANGES_FILE);
const detectorPath = packagedOcrModels().detection;
const detectorBytes = readFileSync(detectorPath);
const OPTIONS = {
  intraOpNumThreads: 1,
  graphOptimizationLevel: "all",
  logSeverityLevel: 3,
} as const;

/** A photo with one line of text drawn over it, as RGB. */
async function photoWithText(photo: string, text: string) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="768" height="768"><text x="384" y="400" font-family="DejaVu Sans" font-weight="bold" font-size="72" fill="#ffffff" fill-opacity="0.9" stroke="#000000" stroke-width="3" paint-order="stroke" text-anchor="middle">${text}</text></svg>`;
  const { data, info } = await sharp(readFileSync(join(FIXTURES, photo)))
    .resize(768, 768, { fit: "cover" })
    .composite([{ input: Buffer.from(svg) }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 as const };
}

describe("the 8-bit text detector", () => {
  let floatDetector: TextDetector;
  let int8Detector: TextDetector;
  beforeAll(async () => {
    const int8 = await loadDetectorQuantisation(RANGES, detectorBytes);
    floatDetector = await createTextDetector(detectorPath, 960, OPTIONS);
    int8Detector = await createTextDetector(detectorPath, 960, OPTIONS, true, int8);
  });
  afterAll(async () => {
    await floatDetector.release();
    await int8Detector.release();
  });

  it("is built the same, byte for byte, every time, as the model card records", async () => {
    const int8 = await loadDetectorQuantisation(RANGES, detectorBytes);
    const a = quantiseStatic(detectorBytes, int8);
    const b = quantiseStatic(detectorBytes, int8);
    expect(Buffer.compare(Buffer.from(a.model), Buffer.from(b.model))).toBe(0);
    const sha256 = createHash("sha256").update(a.model).digest("hex");
    expect(readFileSync(join(ROOT, "models", "ocr", "README.md"), "utf8")).toContain(sha256);
    // What the rewrite found in PP-OCRv4's detector past its float stem.
    expect(a.report).toMatchObject({ convolutions: 50, hardSwish: 16, affine: 16, folded: 4 });
  });

  it("becomes integer kernels in ONNX Runtime: a QLinearConv for every quantised convolution", async () => {
    const int8 = await loadDetectorQuantisation(RANGES, detectorBytes);
    const { model, report } = quantiseStatic(detectorBytes, int8);
    const dir = mkdtempSync(join(tmpdir(), "det-int8-"));
    try {
      const optimised = join(dir, "optimised.onnx");
      // Level "extended" applies the QDQ fusions and still writes a portable model.
      const session = await ort.InferenceSession.create(model, {
        ...OPTIONS,
        graphOptimizationLevel: "extended",
        optimizedModelFilePath: optimised,
      });
      await session.release();
      const ops = parseModel(readFileSync(optimised)).nodes.map((n) => n.opType);
      const count = (op: string) => ops.filter((o) => o === op).length;
      expect(count("QLinearConv")).toBe(report.convolutions);
      expect(count("QLinearMul")).toBeGreaterThanOrEqual(report.hardSwish);
      // Nothing of the hard-swish gates is left in float past the stem.
      expect(count("HardSigmoid")).toBeLessThan(34 - report.hardSwish + 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds the line the float detector finds, in the same place", async () => {
    for (const [photo, text] of [
      ["bridge-1-original.jpg", "Harbour Café"],
      ["q2821.jpg", "OPEN DAILY"],
    ] as const) {
      const image = await photoWithText(photo, text);
      const f = await floatDetector.detect(image);
      const q = await int8Detector.detect(image);
      expect(f.boxes.length).toBeGreaterThan(0);
      expect(q.boxes.length).toBeGreaterThan(0);
      const main = (boxes: typeof f.boxes) =>
        boxes.reduce((a, b) =>
          b.rect.width * b.rect.height > a.rect.width * a.rect.height ? b : a,
        );
      const a = main(f.boxes).rect;
      const b = main(q.boxes).rect;
      expect(Math.abs(a.cx - b.cx)).toBeLessThan(12);
      expect(Math.abs(a.cy - b.cy)).toBeLessThan(12);
      expect(b.width / a.width).toBeGreaterThan(0.85);
      expect(b.width / a.width).toBeLessThan(1.15);
    }
  });

  it("stays quiet where the float detector does: a text-free photo", async () => {
    const { data, info } = await sharp(readFileSync(join(FIXTURES, "blur-a-lot.jpg")))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const image = { data, width: info.width, height: info.height, channels: 3 as const };
    const f = await floatDetector.detect(image);
    const q = await int8Detector.detect(image);
    expect(f.boxes).toEqual([]);
    expect(q.boxes).toEqual([]);
  });

  it("refuses ranges measured on another detector, and a rewrite without a range or a start", async () => {
    const other = Buffer.concat([detectorBytes, Buffer.from([0])]);
    await expect(loadDetectorQuantisation(RANGES, other)).rejects.toBeInstanceOf(
      DetectorRangesError,
    );
    await expect(
      loadDetectorQuantisation(join(ROOT, "package.json"), detectorBytes),
    ).rejects.toThrow(/not a detector ranges file/);
    const int8 = await loadDetectorQuantisation(RANGES, detectorBytes);
    expect(() =>
      quantiseStatic(detectorBytes, { ...int8, firstQuantised: "no such node" }),
    ).toThrow(QuantiseError);
    const partial = Object.fromEntries(Object.entries(int8.ranges).slice(0, 10));
    expect(() => quantiseStatic(detectorBytes, { ...int8, ranges: partial })).toThrow(
      /no calibrated range for/,
    );
  });
});
