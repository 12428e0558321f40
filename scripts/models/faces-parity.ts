/**
 * Parity of the converted face models: the originals in @tensorflow/tfjs (CPU backend, loaded
 * with tf.loadGraphModel from human's files) against the ONNX files in onnxruntime-node on the
 * 20 parity images (scripts/models/parity-images.ts), scaled to each model's input range.
 * Writes the figures to models/faces/parity.json (not the outputs: BlazeFace's are 15,232
 * numbers per image; the test runs TF.js live instead).
 *
 * The measure is |tfjs − onnx| / max(1, |tfjs|): the absolute difference for values up to 1
 * (probabilities, the age distribution), relative above. BlazeFace's raw logits reach ±11,000 on
 * non-face anchors, where one float32 step is 0.001, so no two float32 programs that sum in a
 * different order can agree to 1e-4 absolutely there; its face scores (the sigmoid of the
 * logits, what is used) are compared absolutely as well.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { FACE_MODELS, type FaceModelSpec, loadHumanGraphModel } from "./convert-faces.js";
import { parityImages } from "./parity-images.js";

export interface FaceParityReport {
  images: string[];
  models: Record<
    string,
    {
      /** Per output: the largest |tfjs − onnx| / max(1, |tfjs|) over the images. */
      maxDiff: Record<string, number>;
      /** Per output: the largest plain |tfjs − onnx|. */
      maxAbsDiff: Record<string, number>;
    }
  >;
  /** BlazeFace: the largest |sigmoid(tfjs) − sigmoid(onnx)| over every anchor and image. */
  blazefaceScoreMaxAbsDiff: number;
}

/** Input size and the map from [0,1] parity pixels to the model's input range. */
export function parityInput(spec: FaceModelSpec): { size: number; scale: (v: number) => number } {
  return spec.stem === "blazeface"
    ? { size: 256, scale: (v) => v * 2 - 1 }
    : { size: 224, scale: (v) => v * 255 };
}

/** Output names as stored (TF's ":0" suffix dropped: they are also the ONNX output names). */
export const outputName = (ref: string) => ref.replace(/:0$/, "");

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Runs both sides on the 20 parity images (the first `limit` of them: the test's live check). */
export async function facesParity(dir: string, limit = 20): Promise<FaceParityReport> {
  const report: FaceParityReport = { images: [], models: {}, blazefaceScoreMaxAbsDiff: 0 };
  for (const spec of FACE_MODELS) {
    const { size, scale } = parityInput(spec);
    const images = (await parityImages(size)).slice(0, limit);
    report.images = images.map((i) => i.name);
    const model = await loadHumanGraphModel(spec.stem);
    const session = await ort.InferenceSession.create(join(dir, `${spec.stem}.onnx`));
    const names = spec.outputs.map(outputName);
    const maxDiff: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    const maxAbsDiff: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    for (const img of images) {
      const x = Float32Array.from(img.tensor, scale);
      const refs = tf.tidy(() =>
        (model.execute(tf.tensor4d(x, [1, size, size, 3]), names) as tf.Tensor[]).map(
          (t) => t.dataSync() as Float32Array,
        ),
      );
      const got = await session.run({
        [session.inputNames[0]!]: new ort.Tensor("float32", x, [1, size, size, 3]),
      });
      names.forEach((n, k) => {
        const g = got[n]!.data as Float32Array;
        const ref = refs[k]!;
        if (ref.length !== g.length)
          throw new Error(`${spec.stem} ${n}: ${ref.length} ≠ ${g.length}`);
        ref.forEach((v, i) => {
          const d = Math.abs(v - g[i]!);
          maxAbsDiff[n] = Math.max(maxAbsDiff[n]!, d);
          maxDiff[n] = Math.max(maxDiff[n]!, d / Math.max(1, Math.abs(v)));
          if (spec.stem === "blazeface" && (n === "Identity" || n === "Identity_1")) {
            report.blazefaceScoreMaxAbsDiff = Math.max(
              report.blazefaceScoreMaxAbsDiff,
              Math.abs(sigmoid(v) - sigmoid(g[i]!)),
            );
          }
        });
      });
    }
    model.dispose();
    await session.release();
    report.models[spec.stem] = { maxDiff, maxAbsDiff };
  }
  return report;
}

/**
 * The parity criteria, shared by `npm run models` and the test: every faceres output and
 * BlazeFace's face scores (what is used) within 1e-4 absolutely; its raw logits within 1e-4
 * relative; its box regressions (input pixels) within 1e-3 px, float32 accumulation order.
 * Returns what failed, empty when all holds.
 */
export function faceParityFailures(r: FaceParityReport): string[] {
  const failures: string[] = [];
  const within = (what: string, value: number | undefined, limit: number) => {
    if (value === undefined || !(value < limit))
      failures.push(`${what} = ${value} (limit ${limit})`);
  };
  for (const [out, v] of Object.entries(r.models.faceres?.maxAbsDiff ?? {})) {
    within(`faceres ${out} max |diff|`, v, 1e-4);
  }
  if (!r.models.faceres) failures.push("faceres: not compared");
  within("blazeface face scores max |diff|", r.blazefaceScoreMaxAbsDiff, 1e-4);
  const bf = r.models.blazeface;
  within("blazeface Identity max relative diff", bf?.maxDiff.Identity, 1e-4);
  within("blazeface Identity_1 max relative diff", bf?.maxDiff.Identity_1, 1e-4);
  within("blazeface Identity_2 max |diff| (px)", bf?.maxAbsDiff.Identity_2, 1e-3);
  within("blazeface Identity_3 max |diff| (px)", bf?.maxAbsDiff.Identity_3, 1e-3);
  return failures;
}

export function writeFacesParity(dir: string, report: FaceParityReport): void {
  writeFileSync(join(dir, "parity.json"), `${JSON.stringify(report, null, 1)}\n`);
}
