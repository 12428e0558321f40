import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convertNsfw, NSFW_ONNX } from "./convert-nsfw.js";
import type { ParityReport } from "./parity.js";
import { parityImages } from "./parity-images.js";
import { loadNsfwjsMobileNetV2 } from "./tfjs-load.js";

const DIR = join(import.meta.dirname, "..", "..", "models", "nsfw");
const ONNX = join(DIR, NSFW_ONNX);

describe("nsfw ONNX conversion", () => {
  let session: ort.InferenceSession;
  const run = async (x: Float32Array, n: number) => {
    const r = await session.run({ input_1: new ort.Tensor("float32", x, [n, 224, 224, 3]) });
    return r.dense_3!.data as Float32Array;
  };
  beforeAll(async () => {
    session = await ort.InferenceSession.create(ONNX);
  });
  afterAll(async () => {
    await session.release();
  });

  it("reconverts to the same bytes as the committed file", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "nsfw-"));
    try {
      const { sha256 } = await convertNsfw(tmp);
      expect(createHash("sha256").update(readFileSync(ONNX)).digest("hex")).toBe(sha256);
      expect(readFileSync(join(DIR, "README.md"), "utf8")).toContain(sha256);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("matches TF.js outputs on the 20 parity images within 1e-4", async () => {
    const report = JSON.parse(readFileSync(join(DIR, "parity.json"), "utf8")) as ParityReport;
    const images = await parityImages(224);
    expect(images.map((i) => i.name)).toEqual(report.images);
    expect(images).toHaveLength(20);
    const batch = new Float32Array(20 * 224 * 224 * 3);
    images.forEach((img, i) => {
      batch.set(img.tensor, i * 224 * 224 * 3);
    });
    const got = await run(batch, 20);
    let max = 0;
    report.reference.forEach((row, i) => {
      row.forEach((v, k) => {
        max = Math.max(max, Math.abs(v - got[i * 5 + k]!));
      });
    });
    expect(max).toBeLessThan(1e-4);
    // The images are not all alike: the classifier's top class varies across the set.
    const tops = new Set(report.reference.map((r) => r.indexOf(Math.max(...r))));
    expect(tops.size).toBeGreaterThan(1);
  });

  it("matches TF.js run live on an image", async () => {
    const { model } = await loadNsfwjsMobileNetV2();
    const [img] = await parityImages(224);
    const ref = tf.tidy(() =>
      Array.from(
        (model.predict(tf.tensor4d(img!.tensor, [1, 224, 224, 3])) as tf.Tensor).dataSync(),
      ),
    );
    model.dispose();
    const got = await run(img!.tensor, 1);
    ref.forEach((v, k) => {
      expect(Math.abs(v - got[k]!)).toBeLessThan(1e-4);
    });
  });
});
