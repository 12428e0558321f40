import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { packagedOcrModels } from "../image/ocr.js";
import { FIXTURES } from "../image/test-images.js";
import { fuseActivations, ProtobufError } from "./index.js";
import { parseModel } from "./model.js";
import { decodeFields, encodeFields } from "./protobuf.js";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const files = packagedOcrModels();
const OPTIONS = {
  graphOptimizationLevel: "all",
  intraOpNumThreads: 1,
  logSeverityLevel: 3,
} as const;
const PHOTOS = ["bridge-1-original.jpg", "q2821.jpg", "blur-a-lot.jpg", "q0003.jpg"];

/** A photo as the network's input: NCHW float, channels scaled to [lo, hi]. */
async function tensor(photo: string, width: number, height: number, lo: number, hi: number) {
  const rgb = await sharp(readFileSync(join(FIXTURES, photo)))
    .resize(width, height, { fit: "fill" })
    .removeAlpha()
    .raw()
    .toBuffer();
  const plane = width * height;
  const x = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) x[c * plane + p] = lo + (rgb[p * 3 + c]! / 255) * (hi - lo);
  }
  return x;
}

async function maxDifference(
  original: string,
  inputs: { data: Float32Array; dims: number[] }[],
): Promise<number> {
  const before = await ort.InferenceSession.create(original, OPTIONS);
  const after = await ort.InferenceSession.create(
    fuseActivations(readFileSync(original)).model,
    OPTIONS,
  );
  let worst = 0;
  for (const { data, dims } of inputs) {
    const feed = { [before.inputNames[0]!]: new ort.Tensor("float32", data, dims) };
    const a = (await before.run(feed))[before.outputNames[0]!]!.data as Float32Array;
    const b = (await after.run(feed))[after.outputNames[0]!]!.data as Float32Array;
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  return worst;
}

describe("the protobuf codec", () => {
  it("writes both OCR models back byte for byte", () => {
    for (const path of [files.detection, files.recognition]) {
      const bytes = readFileSync(path);
      expect(Buffer.compare(Buffer.from(encodeFields(decodeFields(bytes))), bytes)).toBe(0);
    }
  });

  it("reads junk as fields or refuses it with ProtobufError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const fields = decodeFields(bytes);
          expect(Buffer.from(encodeFields(fields)).length).toBeLessThanOrEqual(bytes.length + 16);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtobufError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("fuseActivations on PaddleOCR v4", () => {
  it("folds every affine block and hard-swish of the detector and leaves no Clip or Div", () => {
    const { model, report } = fuseActivations(readFileSync(files.detection));
    expect(report).toEqual({ convAffine: 28, hardSwish: 24 });
    const ops = parseModel(model).nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === "Clip" || o === "Div")).toEqual([]);
    expect(ops.filter((o) => o === "HardSigmoid")).toHaveLength(10 + 24);
  });

  it("rewrites the recogniser (opset 9, Clip bounds as attributes) too", () => {
    expect(fuseActivations(readFileSync(files.recognition)).report).toEqual({
      convAffine: 28,
      hardSwish: 28,
    });
  });

  it("gives the detector's text probabilities to within 1e-4 on four photos", async () => {
    const inputs = await Promise.all(
      PHOTOS.map(async (p) => ({
        data: await tensor(p, 320, 256, -2, 2.5),
        dims: [1, 3, 256, 320],
      })),
    );
    expect(await maxDifference(files.detection, inputs)).toBeLessThan(1e-4);
  });

  it("gives the recogniser's character probabilities to within 1e-4 on photo strips", async () => {
    const strips = await Promise.all(PHOTOS.map((p) => tensor(p, 320, 48, -1, 1)));
    const batch = new Float32Array(strips.length * strips[0]!.length);
    for (const [i, s] of strips.entries()) batch.set(s, i * s.length);
    const inputs = [{ data: batch, dims: [strips.length, 3, 48, 320] }];
    expect(await maxDifference(files.recognition, inputs)).toBeLessThan(1e-4);
  });

  it("leaves a model without those chains as it was", () => {
    const bytes = readFileSync(join(ROOT, "models/faces/blazeface.onnx"));
    const { model, report } = fuseActivations(bytes);
    expect(report).toEqual({ convAffine: 0, hardSwish: 0 });
    expect(Buffer.compare(Buffer.from(model), bytes)).toBe(0);
  });
});
