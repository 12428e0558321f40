/**
 * `npm run models`: converts the image models that npm packages ship into ONNX under models/,
 * offline and deterministically, checks each against TF.js running the original on 20 images,
 * and prints each file's sha256 (compare with the model cards).
 */
import { join } from "node:path";
import { convertNsfw } from "./convert-nsfw.js";
import { nsfwParity, PARITY_JSON } from "./parity.js";
import { loadNsfwjsMobileNetV2 } from "./tfjs-load.js";

const root = join(import.meta.dirname, "..", "..");
const nsfwDir = join(root, "models", "nsfw");
const nsfw = await convertNsfw(nsfwDir);
console.log(`${nsfw.sha256}  ${nsfw.path}`);
if (!process.argv.includes("--no-parity")) {
  const report = await nsfwParity(await loadNsfwjsMobileNetV2(), nsfw.path, PARITY_JSON(nsfwDir));
  console.log(
    `parity ${report.model}: ${report.images.length} images, max |tfjs - onnx| = ${report.maxAbsDiff.toExponential(2)}`,
  );
  if (report.maxAbsDiff > 1e-4) process.exitCode = 1;
}
