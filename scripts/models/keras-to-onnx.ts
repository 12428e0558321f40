/**
 * Converts a TF.js layers model (Keras functional topology) into an ONNX graph, layer by layer,
 * with the weights exactly as TF.js decodes them (dequantised float32). Input stays NHWC like
 * the original; the graph transposes to NCHW once and back before Flatten so that the flatten
 * order matches Keras.
 *
 * Supported layers: InputLayer, ZeroPadding2D, Conv2D, DepthwiseConv2D, BatchNormalization,
 * ReLU (with max_value), Activation, Add, AveragePooling2D, MaxPooling2D, GlobalAveragePooling2D,
 * Flatten, Dense, Dropout. Anything else fails loudly.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Model, Node, Tensor } from "./onnx-writer.js";

interface KerasLayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown>;
  inbound_nodes: Array<Array<[string, number, number, unknown?]>>;
}

const i64 = (v: number[]) => BigInt64Array.from(v.map((x) => BigInt(x)));

/** TF "same" padding for one axis: total = max((ceil(in/s) − 1)·s + k − in, 0), extra at the end. */
function samePads(size: number, k: number, s: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export function kerasToOnnx(
  model: tf.LayersModel,
  layersJson: KerasLayerJson[],
  options: { graphName: string; producer: string; metadata: Record<string, string> },
): Model {
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  /** Name of the NCHW (or, after flatten, 2-D) tensor each layer produced. */
  const produced = new Map<string, string>();
  let counter = 0;
  const fresh = (base: string) => `${base}__${counter++}`;
  const constant = (name: string, dims: number[], data: Float32Array | BigInt64Array) => {
    inits.push({ name, dims, data });
    return name;
  };
  const weightsOf = (name: string) => model.getLayer(name).getWeights();
  const dataOf = (t: tf.Tensor) => t.dataSync() as Float32Array;

  let inputName = "";
  let outputName = "";
  for (const layer of layersJson) {
    const c = layer.config;
    const inbound = (layer.inbound_nodes[0] ?? []).map((n) => n[0]);
    const ins = inbound.map((n) => {
      const t = produced.get(n);
      if (t === undefined) throw new Error(`layer ${layer.name}: input ${n} not produced yet`);
      return t;
    });
    const inShape = inbound.length > 0 ? (model.getLayer(inbound[0]!).outputShape as number[]) : [];
    const out = layer.name;
    const activation = (from: string, act: unknown): string => {
      if (act === undefined || act === "linear") return from;
      const op = { relu: "Relu", softmax: "Softmax", sigmoid: "Sigmoid", tanh: "Tanh" }[
        String(act)
      ];
      if (op === undefined) throw new Error(`layer ${layer.name}: activation ${String(act)}`);
      const o = fresh(`${layer.name}_${op}`);
      nodes.push({
        op,
        name: o,
        inputs: [from],
        outputs: [o],
        attributes: op === "Softmax" ? { axis: { int: -1 } } : {},
      });
      return o;
    };
    switch (layer.class_name) {
      case "InputLayer": {
        inputName = layer.name;
        nodes.push({
          op: "Transpose",
          name: "input_nchw",
          inputs: [inputName],
          outputs: ["input_nchw"],
          attributes: { perm: { ints: [0, 3, 1, 2] } },
        });
        produced.set(layer.name, "input_nchw");
        continue;
      }
      case "ZeroPadding2D": {
        const [[t, b], [l, r]] = c.padding as [[number, number], [number, number]];
        const pads = constant(`${out}_pads`, [8], i64([0, 0, t, l, 0, 0, b, r]));
        nodes.push({ op: "Pad", name: out, inputs: [ins[0]!, pads], outputs: [out] });
        break;
      }
      case "Conv2D":
      case "DepthwiseConv2D": {
        const depthwise = layer.class_name === "DepthwiseConv2D";
        const [kh, kw] = c.kernel_size as [number, number];
        const [sh, sw] = c.strides as [number, number];
        const dil = c.dilation_rate as [number, number];
        if (dil[0] !== 1 || dil[1] !== 1) throw new Error(`layer ${layer.name}: dilation`);
        const w = weightsOf(layer.name);
        const k = dataOf(w[0]!);
        const [, , cin, cout] = w[0]!.shape as number[]; // HWIO, or HW·C·M for depthwise
        const outCh = depthwise ? cin! * cout! : cout!;
        const perIn = depthwise ? 1 : cin!;
        const onnxW = new Float32Array(outCh * perIn * kh * kw);
        for (let y = 0; y < kh; y++) {
          for (let x = 0; x < kw; x++) {
            for (let i = 0; i < cin!; i++) {
              for (let o = 0; o < cout!; o++) {
                const v = k[((y * kw + x) * cin! + i) * cout! + o]!;
                const oc = depthwise ? i * cout! + o : o;
                const ic = depthwise ? 0 : i;
                onnxW[((oc * perIn + ic) * kh + y) * kw + x] = v;
              }
            }
          }
        }
        const inputs = [ins[0]!, constant(`${out}_W`, [outCh, perIn, kh, kw], onnxW)];
        if (c.use_bias) inputs.push(constant(`${out}_B`, [outCh], dataOf(w[1]!).slice()));
        let pads = [0, 0, 0, 0];
        if (c.padding === "same") {
          const [pt, pb] = samePads(inShape[1]!, kh, sh);
          const [pl, pr] = samePads(inShape[2]!, kw, sw);
          pads = [pt, pl, pb, pr];
        }
        const conv = c.activation === "linear" ? out : fresh(`${out}_conv`);
        nodes.push({
          op: "Conv",
          name: conv,
          inputs,
          outputs: [conv],
          attributes: {
            kernel_shape: { ints: [kh, kw] },
            strides: { ints: [sh, sw] },
            pads: { ints: pads },
            group: { int: depthwise ? cin! : 1 },
          },
        });
        if (conv !== out) {
          nodes.push({
            op: "Identity",
            name: out,
            inputs: [activation(conv, c.activation)],
            outputs: [out],
          });
        }
        break;
      }
      case "BatchNormalization": {
        if (c.scale !== true || c.center !== true) throw new Error(`layer ${layer.name}: BN form`);
        const [g, b, m, v] = weightsOf(layer.name).map((t) => dataOf(t).slice());
        const n = g!.length;
        nodes.push({
          op: "BatchNormalization",
          name: out,
          inputs: [
            ins[0]!,
            constant(`${out}_gamma`, [n], g!),
            constant(`${out}_beta`, [n], b!),
            constant(`${out}_mean`, [n], m!),
            constant(`${out}_var`, [n], v!),
          ],
          outputs: [out],
          attributes: { epsilon: { float: c.epsilon as number } },
        });
        break;
      }
      case "ReLU": {
        if ((c.negative_slope ?? 0) !== 0 || (c.threshold ?? 0) !== 0) {
          throw new Error(`layer ${layer.name}: leaky or thresholded ReLU`);
        }
        if (c.max_value == null) {
          nodes.push({ op: "Relu", name: out, inputs: [ins[0]!], outputs: [out] });
        } else {
          const lo = constant(`${out}_min`, [], Float32Array.of(0));
          const hi = constant(`${out}_max`, [], Float32Array.of(c.max_value as number));
          nodes.push({ op: "Clip", name: out, inputs: [ins[0]!, lo, hi], outputs: [out] });
        }
        break;
      }
      case "Activation":
        nodes.push({
          op: "Identity",
          name: out,
          inputs: [activation(ins[0]!, c.activation)],
          outputs: [out],
        });
        break;
      case "Add":
        nodes.push({ op: "Sum", name: out, inputs: ins, outputs: [out] });
        break;
      case "AveragePooling2D":
      case "MaxPooling2D": {
        if (c.padding !== "valid") throw new Error(`layer ${layer.name}: pooling padding`);
        nodes.push({
          op: layer.class_name === "MaxPooling2D" ? "MaxPool" : "AveragePool",
          name: out,
          inputs: [ins[0]!],
          outputs: [out],
          attributes: {
            kernel_shape: { ints: c.pool_size as number[] },
            strides: { ints: c.strides as number[] },
          },
        });
        break;
      }
      case "GlobalAveragePooling2D": {
        const pooled = fresh(`${out}_pool`);
        nodes.push({ op: "GlobalAveragePool", name: pooled, inputs: [ins[0]!], outputs: [pooled] });
        nodes.push({
          op: "Flatten",
          name: out,
          inputs: [pooled],
          outputs: [out],
          attributes: { axis: { int: 1 } },
        });
        produced.set(layer.name, out);
        continue;
      }
      case "Flatten": {
        const nhwc = fresh(`${out}_nhwc`);
        nodes.push({
          op: "Transpose",
          name: nhwc,
          inputs: [ins[0]!],
          outputs: [nhwc],
          attributes: { perm: { ints: [0, 2, 3, 1] } },
        });
        nodes.push({
          op: "Flatten",
          name: out,
          inputs: [nhwc],
          outputs: [out],
          attributes: { axis: { int: 1 } },
        });
        produced.set(layer.name, out);
        continue;
      }
      case "Dense": {
        const w = weightsOf(layer.name);
        const [nin, nout] = w[0]!.shape as number[];
        const inputs = [ins[0]!, constant(`${out}_W`, [nin!, nout!], dataOf(w[0]!).slice())];
        inputs.push(
          c.use_bias
            ? constant(`${out}_B`, [nout!], dataOf(w[1]!).slice())
            : constant(`${out}_B`, [nout!], new Float32Array(nout!)),
        );
        const gemm = c.activation === "linear" ? out : fresh(`${out}_gemm`);
        nodes.push({ op: "Gemm", name: gemm, inputs, outputs: [gemm] });
        if (gemm !== out) {
          nodes.push({
            op: "Identity",
            name: out,
            inputs: [activation(gemm, c.activation)],
            outputs: [out],
          });
        }
        break;
      }
      case "Dropout":
        nodes.push({ op: "Identity", name: out, inputs: [ins[0]!], outputs: [out] });
        break;
      default:
        throw new Error(`layer ${layer.name}: unsupported ${layer.class_name}`);
    }
    produced.set(layer.name, out);
    outputName = out;
  }
  const outShape = model.outputs[0]!.shape.slice(1) as number[];
  return {
    opset: 13,
    producer: options.producer,
    graphName: options.graphName,
    nodes,
    initializers: inits,
    inputs: [{ name: inputName, shape: ["N", ...(model.inputs[0]!.shape.slice(1) as number[])] }],
    outputs: [{ name: outputName, shape: ["N", ...outShape] }],
    metadata: options.metadata,
  };
}
