/**
 * Parity of a converted model: runs the original in @tensorflow/tfjs (pure JS, CPU) and the ONNX
 * file in onnxruntime-node on the 20 parity images, prints the largest absolute difference and
 * stores the TF.js outputs (models/nsfw/parity.json) for the fast test to compare against.
 * Slow (TF.js CPU takes seconds per image): run by `npm run models`, not by every test run.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import { parityImages } from "./parity-images.js";
import type { LoadedLayersModel } from "./tfjs-load.js";

export interface ParityReport {
  model: string;
  images: string[];
  /** TF.js outputs, one row per image. */
  reference: number[][];
  maxAbsDiff: number;
}

export async function nsfwParity(
  loaded: LoadedLayersModel,
  onnxPath: string,
  outJson: string,
): Promise<ParityReport> {
  const images = await parityImages(224);
  const session = await ort.InferenceSession.create(onnxPath);
  const reference: number[][] = [];
  let maxAbsDiff = 0;
  for (const img of images) {
    const ref = tf.tidy(() =>
      Array.from(
        (loaded.model.predict(tf.tensor4d(img.tensor, [1, 224, 224, 3])) as tf.Tensor).dataSync(),
      ),
    );
    const res = await session.run({
      [session.inputNames[0]!]: new ort.Tensor("float32", img.tensor, [1, 224, 224, 3]),
    });
    const got = res[session.outputNames[0]!]!.data as Float32Array;
    ref.forEach((v, i) => {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v - got[i]!));
    });
    reference.push(ref);
  }
  await session.release();
  const report = {
    model: onnxPath.split("/").pop()!,
    images: images.map((i) => i.name),
    reference,
    maxAbsDiff,
  };
  writeFileSync(outJson, `${JSON.stringify(report, null, 1)}\n`);
  return report;
}

export const PARITY_JSON = (dir: string) => join(dir, "parity.json");
