/**
 * `npm run models` step: nsfwjs's MobileNetV2 (TF.js layers model, MIT) → models/nsfw/nsfw-mobilenet-v2.onnx.
 * Deterministic: the same nsfwjs version gives the same bytes (sha256 in models/nsfw/README.md).
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kerasToOnnx } from "./keras-to-onnx.js";
import { encodeModel } from "./onnx-writer.js";
import { loadNsfwjsMobileNetV2 } from "./tfjs-load.js";

export const NSFW_ONNX = "nsfw-mobilenet-v2.onnx";

export async function convertNsfw(outDir: string): Promise<{ path: string; sha256: string }> {
  const { model, layersJson, packageVersion } = await loadNsfwjsMobileNetV2();
  const onnx = kerasToOnnx(model, layersJson, {
    graphName: "nsfwjs_mobilenet_v2",
    producer: "hallmark scripts/models",
    metadata: {
      source: `npm nsfwjs@${packageVersion} dist/models/mobilenet_v2`,
      license: "MIT",
      classes: "drawing,hentai,neutral,porn,sexy",
      input: "NHWC float32 RGB in [0,1], 224x224",
    },
  });
  const bytes = encodeModel(onnx);
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, NSFW_ONNX);
  writeFileSync(path, bytes);
  return { path, sha256: createHash("sha256").update(bytes).digest("hex") };
}
