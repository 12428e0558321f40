import { InferenceSession, Tensor } from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { encodeModel, FLOAT } from "./onnx-proto.js";

describe("encodeModel", () => {
  it("writes a graph that ONNX Runtime loads and computes correctly", async () => {
    const w = Float32Array.from([1, 2, 3, 4]);
    const bytes = encodeModel({
      opset: 13,
      producer: "test",
      graphName: "g",
      inputs: [{ name: "x", elemType: FLOAT, shape: ["n", 2] }],
      outputs: [{ name: "y", elemType: FLOAT, shape: ["n", 2] }],
      initializers: [{ name: "w", dataType: FLOAT, dims: [2, 2], data: w }],
      nodes: [
        { name: "mm", op: "MatMul", inputs: ["x", "w"], outputs: ["z"] },
        { name: "relu", op: "Relu", inputs: ["z"], outputs: ["y"] },
      ],
      metadata: { purpose: "test" },
    });
    const session = await InferenceSession.create(bytes);
    const out = await session.run({
      x: new Tensor("float32", Float32Array.from([1, -1, 2, 0]), [2, 2]),
    });
    // [1,-1]·w = [1-3, 2-4] = [-2,-2] → relu 0; [2,0]·w = [2, 4]
    expect(Array.from(out.y!.data as Float32Array)).toEqual([0, 0, 2, 4]);
    await session.release();
  });
});
