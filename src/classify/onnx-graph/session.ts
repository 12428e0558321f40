import { readFile } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import { type FuseReport, fuseActivations } from "./fuse-activations.js";

/**
 * An ONNX Runtime session on the model at `path` after `fuseActivations` (or as shipped when
 * `fuse` is false, for comparisons): the file itself is read, not changed (its sha256 stays the
 * one on the model card). The report is all zeros when nothing was fused.
 * @example const { session } = await createFusedSession(files.detection, { intraOpNumThreads: 1 });
 */
export async function createFusedSession(
  path: string,
  options: ort.InferenceSession.SessionOptions,
  fuse = true,
): Promise<{ session: ort.InferenceSession; report: FuseReport }> {
  const bytes = await readFile(path);
  const { model, report } = fuse
    ? fuseActivations(bytes)
    : { model: bytes, report: { convAffine: 0, hardSwish: 0 } };
  return { session: await ort.InferenceSession.create(model, options), report };
}
