/**
 * `npm run models`: converts the image models that npm packages ship into ONNX under models/,
 * offline and deterministically, checks each against TF.js running the original on 20 images,
 * and prints each file's sha256 (compare with the model cards).
 */
import { join } from "node:path";
import { convertFaces } from "./convert-faces.js";
import { convertNsfw } from "./convert-nsfw.js";
import { faceParityFailures, facesParity, writeFacesParity } from "./faces-parity.js";
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

const facesDir = join(root, "models", "faces");
for (const f of await convertFaces(facesDir)) console.log(`${f.sha256}  ${f.path}`);
if (!process.argv.includes("--no-parity")) {
  const report = await facesParity(facesDir);
  writeFacesParity(facesDir, report);
  for (const [stem, r] of Object.entries(report.models)) {
    const worst = Math.max(...Object.values(r.maxDiff));
    console.log(
      `parity ${stem}.onnx: ${report.images.length} images, max |tfjs - onnx| / max(1, |tfjs|) = ${worst.toExponential(2)}`,
    );
  }
  console.log(
    `parity blazeface scores: max |Δ sigmoid| = ${report.blazefaceScoreMaxAbsDiff.toExponential(2)}`,
  );
  // The criteria of models/faces/README.md (Parity), the same the test holds.
  const failures = faceParityFailures(report);
  for (const f of failures) console.error(`parity FAILED: ${f}`);
  if (failures.length === 0) {
    console.log(
      "parity criteria met (models/faces/README.md: scores and faceres 1e-4, logits 1e-4 relative, boxes 1e-3 px)",
    );
  }
  if (failures.length > 0) process.exitCode = 1;
}
