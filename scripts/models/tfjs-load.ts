/**
 * Loads a TF.js layers model that an npm package ships (model JSON and weight shards, as files
 * or as nsfwjs's UMD `.min.js` wrappers around them) with pure-JS @tensorflow/tfjs and its CPU
 * backend: the reference the ONNX conversions are checked against.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";

const require = createRequire(import.meta.url);

export interface LoadedLayersModel {
  model: tf.LayersModel;
  /** The Keras topology's layer list (config.layers), in graph order. */
  layersJson: Array<{
    name: string;
    class_name: string;
    config: Record<string, unknown>;
    inbound_nodes: Array<Array<[string, number, number, unknown?]>>;
  }>;
  packageVersion: string;
}

/**
 * The directory of a package installed in this project's node_modules (not `require.resolve`:
 * some packages' `exports` hide both package.json and their model files).
 */
export function packageDir(name: string): string {
  return join(import.meta.dirname, "..", "..", "node_modules", name);
}

/** nsfwjs's bundled MobileNetV2 (224×224, five classes). */
export async function loadNsfwjsMobileNetV2(): Promise<LoadedLayersModel> {
  const dir = join(packageDir("nsfwjs"), "dist", "models", "mobilenet_v2");
  const json = require(join(dir, "model.min.js")) as {
    modelTopology: { model_config: { config: { layers: LoadedLayersModel["layersJson"] } } };
    weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  };
  const group = json.weightsManifest[0]!;
  const shards = group.paths.map((p) => {
    const b64 = require(join(dir, `${p}.min.js`)) as string;
    return Buffer.from(b64, "base64");
  });
  const weightData = new Uint8Array(Buffer.concat(shards)).buffer;
  await tf.setBackend("cpu");
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as unknown as tf.io.ModelJSON["modelTopology"],
      weightSpecs: group.weights,
      weightData,
    }),
  );
  const version = JSON.parse(readFileSync(join(packageDir("nsfwjs"), "package.json"), "utf8"))
    .version as string;
  return {
    model,
    layersJson: json.modelTopology.model_config.config.layers,
    packageVersion: version,
  };
}
