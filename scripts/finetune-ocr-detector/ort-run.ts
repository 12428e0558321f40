/**
 * `npx tsx scripts/finetune-ocr-detector/ort-run.ts model.onnx in.f32 out.f32 height width`:
 * runs a detector graph in ONNX Runtime (the gateway's runtime) on one raw float32 NCHW tensor,
 * for parity.py's comparison with the PyTorch interpretation of the same graph.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as ort from "onnxruntime-node";

const [model, input, output, height, width] = process.argv.slice(2);
if (output === undefined || width === undefined) {
  throw new Error("usage: ort-run.ts model.onnx in.f32 out.f32 height width");
}
const session = await ort.InferenceSession.create(model!, { intraOpNumThreads: 1 });
const raw = readFileSync(input!);
const x = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
const shape = [1, 3, Number(height), Number(width)];
const result = await session.run({
  [session.inputNames[0]!]: new ort.Tensor("float32", x, shape),
});
const y = result[session.outputNames[0]!]!.data as Float32Array;
writeFileSync(output, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
