/**
 * `npm run models` step: @vladmandic/human's BlazeFace (face detector, 256×256) and faceres
 * (HSE FaceRes: age and gender, 224×224), TF.js graph models (MIT), → models/faces/*.onnx with
 * the graph converter (graph-to-onnx.ts). Deterministic: the same package version gives the same
 * bytes (sha256 in models/faces/README.md).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { type GraphModelJson, graphToOnnx } from "./graph-to-onnx.js";
import { encodeModel } from "./onnx-writer.js";
import { packageDir } from "./tfjs-load.js";

export interface FaceModelSpec {
  /** File stem in @vladmandic/human/models and in models/faces. */
  stem: "blazeface" | "faceres";
  outputs: string[];
  inputShape: Array<number | string>;
  metadata: Record<string, string>;
}

export const FACE_MODELS: FaceModelSpec[] = [
  {
    stem: "blazeface",
    // Sorted as human's blazeface.ts reads them: 512 scores, 384 scores, 512 and 384 boxes.
    outputs: ["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"],
    inputShape: [1, 256, 256, 3],
    metadata: {
      input: "NHWC float32 RGB in [-1,1] (x/127.5 - 1), 256x256, the whole image stretched",
      outputs:
        "per anchor: logit (Identity [1,512,1] for the 16x16 grid x2, Identity_2 [1,384,1] for 8x8 x6) and 16 regressions (Identity_1 / Identity_3: cx, cy, w, h offsets in input pixels, 6 keypoints)",
    },
  },
  {
    stem: "faceres",
    outputs: ["age_pred/Softmax:0", "gender_pred/Sigmoid:0", "global_pooling/Mean"],
    inputShape: ["N", 224, 224, 3],
    metadata: {
      input: "NHWC float32 RGB in [0,255], 224x224 face crop (box enlarged 1.4x, squared)",
      outputs:
        "age_pred/Softmax [N,100] ages 0..99; gender_pred/Sigmoid [N,1] (>0.5 male); global_pooling/Mean [N,1024]",
    },
  },
];

export function humanVersion(): string {
  return JSON.parse(readFileSync(join(packageDir("@vladmandic/human"), "package.json"), "utf8"))
    .version as string;
}

/** The model JSON and its weight shards, as human ships them. */
export function readHumanModel(stem: string): { json: GraphModelJson; weights: ArrayBuffer } {
  const dir = join(packageDir("@vladmandic/human"), "models");
  const json = JSON.parse(readFileSync(join(dir, `${stem}.json`), "utf8")) as GraphModelJson;
  const shards = json.weightsManifest
    .flatMap((g) => g.paths)
    .map((p) => readFileSync(join(dir, p)));
  return { json, weights: new Uint8Array(Buffer.concat(shards)).buffer };
}

/** The original in TF.js (CPU backend), loaded from the same files: the parity reference. */
export async function loadHumanGraphModel(stem: string): Promise<tf.GraphModel> {
  const { json, weights } = readHumanModel(stem);
  await tf.setBackend("cpu");
  return tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as unknown as tf.io.ModelJSON["modelTopology"],
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: weights,
      format: json.format,
      signature: json.signature as object,
    } as tf.io.ModelArtifacts),
  );
}

export async function convertFaces(
  outDir: string,
): Promise<Array<{ path: string; sha256: string }>> {
  mkdirSync(outDir, { recursive: true });
  const version = humanVersion();
  return FACE_MODELS.map((spec) => {
    const { json, weights } = readHumanModel(spec.stem);
    const model = graphToOnnx(json, weights, {
      graphName: `human_${spec.stem}`,
      producer: "hallmark scripts/models",
      outputs: spec.outputs,
      inputShape: spec.inputShape,
      metadata: {
        source: `npm @vladmandic/human@${version} models/${spec.stem}.json`,
        license: "MIT",
        ...spec.metadata,
      },
    });
    const bytes = encodeModel(model);
    const path = join(outDir, `${spec.stem}.onnx`);
    writeFileSync(path, bytes);
    return { path, sha256: createHash("sha256").update(bytes).digest("hex") };
  });
}
