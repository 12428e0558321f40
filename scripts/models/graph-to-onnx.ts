/**
 * TF.js graph models (model.json with `format: "graph-model"`: `modelTopology.node` is a list of
 * TensorFlow ops, `weightsManifest` the Const tensors) to ONNX opset 13, for the ops that
 * @vladmandic/human's BlazeFace and faceres use. Written for this project: no Python, no
 * network; @tensorflow/tfjs only decodes the weight shards (including float16 quantisation).
 *
 * Layout: TensorFlow runs NHWC, ONNX convolutions NCHW. The graph input is transposed once to
 * NCHW; every 4-D activation then stays NCHW (`layout: "nchw"`), constants that broadcast
 * against it are re-laid out (a per-channel vector becomes [C,1,1]), and tensors are transposed
 * back to NHWC only where layout matters (Reshape, Mean, graph outputs), so the ONNX model
 * takes and returns exactly what the TF.js model does.
 */
import * as tf from "@tensorflow/tfjs";
import type { Attribute, Model, Node, Tensor } from "./onnx-writer.js";

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}
interface TfAttr {
  s?: string;
  i?: string;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { s?: string[]; i?: string[] };
  shape?: { dim?: Array<{ size: string }> };
}
export interface GraphModelJson {
  format: string;
  modelTopology: { node: TfNode[] };
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  signature?: unknown;
}

interface Value {
  /** The ONNX tensor holding it. */
  onnx: string;
  rank: number;
  /** "nchw": a TF NHWC tensor stored transposed. */
  layout: "nchw" | "plain";
}

interface ConstValue {
  dims: number[];
  data: Float32Array | Int32Array;
}

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

const str = (a: TfAttr | undefined): string =>
  a?.s === undefined ? "" : Buffer.from(a.s, "base64").toString("utf8");
const ints = (a: TfAttr | undefined): number[] => (a?.list?.i ?? []).map(Number);
const strs = (a: TfAttr | undefined): string[] =>
  (a?.list?.s ?? []).map((s) => Buffer.from(s, "base64").toString("utf8"));

/** Which ops a graph uses, with counts (the converter's coverage check). */
export function listOps(json: GraphModelJson): Record<string, number> {
  const ops: Record<string, number> = {};
  for (const n of json.modelTopology.node) ops[n.op] = (ops[n.op] ?? 0) + 1;
  return ops;
}

export interface GraphConversionOptions {
  graphName: string;
  producer: string;
  metadata: Record<string, string>;
  /** TF output tensor names ("Identity:0" or "age_pred/Softmax") in the order wanted. */
  outputs: string[];
  /** Fixed input shape (NHWC); a string dimension stays symbolic. */
  inputShape: Array<number | string>;
}

/** Converts a TF.js graph model given its JSON and the concatenated weight shard bytes. */
export function graphToOnnx(
  json: GraphModelJson,
  weightData: ArrayBuffer,
  options: GraphConversionOptions,
): Model {
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const decoded = tf.io.decodeWeights(weightData, specs);
  const consts = new Map<string, ConstValue>();
  for (const [name, t] of Object.entries(decoded)) {
    consts.set(name, { dims: t.shape, data: t.dataSync() as Float32Array | Int32Array });
  }

  const nodes: Node[] = [];
  const initializers: Tensor[] = [];
  const values = new Map<string, Value>();
  let counter = 0;
  const fresh = (base: string) => `${base}__${counter++}`;
  const emit = (op: string, inputs: string[], name: string, attributes?: Node["attributes"]) => {
    const out = fresh(name);
    nodes.push({ op, inputs, outputs: [out], name: out, ...(attributes ? { attributes } : {}) });
    return out;
  };
  const initFloat = (name: string, dims: number[], data: Float32Array) => {
    const n = fresh(name);
    initializers.push({ name: n, dims, data });
    return n;
  };
  const initInt64 = (name: string, values: number[]) => {
    const n = fresh(name);
    initializers.push({
      name: n,
      dims: [values.length],
      data: BigInt64Array.from(values.map(BigInt)),
    });
    return n;
  };
  const constOf = (ref: string): ConstValue | undefined => consts.get(ref.replace(/:0$/, ""));
  const activationOf = (ref: string): Value => {
    const key = ref.replace(/:0$/, "");
    const v = values.get(key);
    if (v === undefined) throw new Error(`graph-to-onnx: ${ref} used before it is defined`);
    return v;
  };
  const asNhwc = (v: Value): string =>
    v.layout === "nchw"
      ? emit("Transpose", [v.onnx], "to_nhwc", { perm: { ints: TO_NHWC } })
      : v.onnx;

  /** A Const operand laid out to broadcast against `like` (an activation). */
  const constOperand = (c: ConstValue, like: Value, name: string): string => {
    const size = c.data.length;
    const data = Float32Array.from(c.data);
    if (like.layout === "nchw") {
      if (c.dims.length === 4) {
        const [n, h, w, ch] = c.dims as [number, number, number, number];
        const out = new Float32Array(size);
        for (let a = 0; a < n; a++)
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++)
              for (let k = 0; k < ch; k++)
                out[((a * ch + k) * h + y) * w + x] = data[((a * h + y) * w + x) * ch + k]!;
        return initFloat(name, [n, ch, h, w], out);
      }
      if (size > 1) return initFloat(name, [size, 1, 1], data);
    }
    return initFloat(name, c.dims, data);
  };
  /** Operand of an elementwise op: an activation, or a Const shaped to match the other side. */
  const operand = (ref: string, other: string, name: string): string => {
    const c = constOf(ref);
    if (c === undefined) return activationOf(ref).onnx;
    return constOperand(c, activationOf(other), name);
  };

  const activation = (op: string, x: string, name: string): string => {
    switch (op) {
      case "Relu":
        return emit("Relu", [x], name);
      case "Relu6":
        return emit("Clip", [x, initScalar(0), initScalar(6)], name);
      case "Sigmoid":
        return emit("Sigmoid", [x], name);
      default:
        throw new Error(`graph-to-onnx: fused activation ${op} is not supported`);
    }
  };
  const initScalar = (v: number) => initFloat("scalar", [], Float32Array.of(v));

  /** TF's SAME padding puts the odd pixel at the end: ONNX auto_pad SAME_UPPER does the same. */
  const padAttr = (n: TfNode): Record<string, Attribute> => {
    const p = str(n.attr?.padding);
    if (p === "SAME") return { auto_pad: { string: "SAME_UPPER" } };
    if (p === "VALID") return { pads: { ints: [0, 0, 0, 0] } };
    throw new Error(`graph-to-onnx: ${n.name} padding ${p} is not supported`);
  };
  const checkNhwc = (n: TfNode) => {
    const f = str(n.attr?.data_format);
    if (f !== "" && f !== "NHWC") throw new Error(`graph-to-onnx: ${n.name} is ${f}, not NHWC`);
  };

  for (const n of json.modelTopology.node) {
    const inputs = (n.input ?? []).filter((i) => !i.startsWith("^"));
    const set = (onnx: string, rank: number, layout: Value["layout"]) =>
      values.set(n.name, { onnx, rank, layout });
    switch (n.op) {
      case "Const":
        break; // read at its use
      case "Placeholder": {
        set(emit("Transpose", [n.name], "input_nchw", { perm: { ints: TO_NCHW } }), 4, "nchw");
        break;
      }
      case "Conv2D":
      case "_FusedConv2D":
      case "DepthwiseConv2dNative": {
        checkNhwc(n);
        const x = activationOf(inputs[0]!);
        if (x.layout !== "nchw") throw new Error(`graph-to-onnx: ${n.name} input is not 4-D`);
        const f = constOf(inputs[1]!);
        if (f === undefined) throw new Error(`graph-to-onnx: ${n.name} filter is not a Const`);
        const [kh, kw, cin, cout] = f.dims as [number, number, number, number];
        const depthwise = n.op === "DepthwiseConv2dNative";
        // HWIO → OIHW; depthwise HW(C)(M) → (C·M)1HW with group = C.
        const outCh = depthwise ? cin * cout : cout;
        const w = new Float32Array(f.data.length);
        for (let y = 0; y < kh; y++)
          for (let xx = 0; xx < kw; xx++)
            for (let i = 0; i < cin; i++)
              for (let o = 0; o < cout; o++) {
                const src = ((y * kw + xx) * cin + i) * cout + o;
                const dst = depthwise
                  ? ((i * cout + o) * kh + y) * kw + xx
                  : ((o * cin + i) * kh + y) * kw + xx;
                w[dst] = f.data[src]!;
              }
        const weight = initFloat(
          `${n.name}/W`,
          depthwise ? [outCh, 1, kh, kw] : [outCh, cin, kh, kw],
          w,
        );
        const strides = ints(n.attr?.strides);
        const dilations = ints(n.attr?.dilations);
        const convInputs = [x.onnx, weight];
        const fused = n.op === "_FusedConv2D" ? strs(n.attr?.fused_ops) : [];
        if (fused[0] === "BiasAdd") {
          const b = constOf(inputs[2]!);
          if (b === undefined) throw new Error(`graph-to-onnx: ${n.name} bias is not a Const`);
          convInputs.push(initFloat(`${n.name}/B`, [outCh], Float32Array.from(b.data)));
        } else if (fused.length > 0) {
          throw new Error(`graph-to-onnx: ${n.name} fused ${fused.join(",")} is not supported`);
        }
        let y = emit("Conv", convInputs, n.name, {
          ...padAttr(n),
          strides: { ints: [strides[1] ?? 1, strides[2] ?? 1] },
          dilations: { ints: dilations.length === 4 ? [dilations[1]!, dilations[2]!] : [1, 1] },
          kernel_shape: { ints: [kh, kw] },
          group: { int: depthwise ? cin : 1 },
        });
        for (const act of fused.slice(1)) y = activation(act, y, n.name);
        set(y, 4, "nchw");
        break;
      }
      case "BiasAdd":
      case "Add":
      case "AddV2":
      case "Mul":
      case "Sub":
      case "Minimum":
      case "Maximum": {
        const [a, b] = inputs as [string, string];
        const onnxOp = {
          BiasAdd: "Add",
          Add: "Add",
          AddV2: "Add",
          Mul: "Mul",
          Sub: "Sub",
          Minimum: "Min",
          Maximum: "Max",
        }[n.op]!;
        const aConst = constOf(a) !== undefined;
        const bConst = constOf(b) !== undefined;
        if (aConst && bConst) throw new Error(`graph-to-onnx: ${n.name} has two Const inputs`);
        const ref = aConst ? activationOf(b) : activationOf(a);
        let left = aConst ? operand(a, b, `${n.name}/A`) : activationOf(a).onnx;
        let right = bConst ? operand(b, a, `${n.name}/B`) : activationOf(b).onnx;
        if (!aConst && !bConst) {
          const va = activationOf(a);
          const vb = activationOf(b);
          if (va.layout !== vb.layout) {
            left = asNhwc(va);
            right = asNhwc(vb);
            set(emit(onnxOp, [left, right], n.name), Math.max(va.rank, vb.rank), "plain");
            break;
          }
        }
        set(emit(onnxOp, [left, right], n.name), ref.rank, ref.layout);
        break;
      }
      case "Relu":
      case "Relu6":
      case "Sigmoid": {
        const x = activationOf(inputs[0]!);
        set(activation(n.op, x.onnx, n.name), x.rank, x.layout);
        break;
      }
      case "Softmax": {
        const x = activationOf(inputs[0]!);
        const input = asNhwc(x);
        set(emit("Softmax", [input], n.name, { axis: { int: -1 } }), x.rank, "plain");
        break;
      }
      case "Identity": {
        const x = activationOf(inputs[0]!);
        values.set(n.name, x);
        break;
      }
      case "MaxPool":
      case "AvgPool": {
        checkNhwc(n);
        const x = activationOf(inputs[0]!);
        const k = ints(n.attr?.ksize);
        const s = ints(n.attr?.strides);
        set(
          emit(n.op === "MaxPool" ? "MaxPool" : "AveragePool", [x.onnx], n.name, {
            ...padAttr(n),
            kernel_shape: { ints: [k[1]!, k[2]!] },
            strides: { ints: [s[1]!, s[2]!] },
          }),
          4,
          "nchw",
        );
        break;
      }
      case "Pad": {
        const x = activationOf(inputs[0]!);
        const p = constOf(inputs[1]!);
        if (p === undefined) throw new Error(`graph-to-onnx: ${n.name} paddings are not a Const`);
        const rank = p.dims[0]!;
        const pairs = Array.from({ length: rank }, (_, d) => [p.data[2 * d]!, p.data[2 * d + 1]!]);
        const order = x.layout === "nchw" ? TO_NCHW : pairs.map((_, d) => d);
        const pads = [...order.map((d) => pairs[d]![0]!), ...order.map((d) => pairs[d]![1]!)];
        set(
          emit("Pad", [x.onnx, initInt64(`${n.name}/pads`, pads)], n.name, {
            mode: { string: "constant" },
          }),
          x.rank,
          x.layout,
        );
        break;
      }
      case "Reshape": {
        const x = activationOf(inputs[0]!);
        const shape = constOf(inputs[1]!);
        if (shape === undefined) throw new Error(`graph-to-onnx: ${n.name} shape is not a Const`);
        const dims = Array.from(shape.data, Number);
        set(
          emit("Reshape", [asNhwc(x), initInt64(`${n.name}/shape`, dims)], n.name),
          dims.length,
          "plain",
        );
        break;
      }
      case "Mean": {
        const x = activationOf(inputs[0]!);
        const axes = constOf(inputs[1]!);
        if (axes === undefined) throw new Error(`graph-to-onnx: ${n.name} axes are not a Const`);
        const keep = n.attr?.keep_dims?.b === true;
        const tfAxes = Array.from(axes.data, (a) => (a < 0 ? a + x.rank : a));
        // Reduce in NCHW when the result's layout does not matter afterwards (spatial pooling
        // with keep_dims false gives [N, C] in both layouts).
        const inNchw = x.layout === "nchw" && !keep && tfAxes.every((a) => a === 1 || a === 2);
        const onnxAxes = inNchw ? tfAxes.map((a) => TO_NCHW.indexOf(a)) : tfAxes;
        set(
          emit("ReduceMean", [inNchw ? x.onnx : asNhwc(x)], n.name, {
            axes: { ints: onnxAxes },
            keepdims: { int: keep ? 1 : 0 },
          }),
          keep ? x.rank : x.rank - tfAxes.length,
          "plain",
        );
        break;
      }
      case "MatMul":
      case "_FusedMatMul": {
        if (n.attr?.transpose_a?.b === true) {
          throw new Error(`graph-to-onnx: ${n.name} transpose_a is not supported`);
        }
        const a = activationOf(inputs[0]!);
        const w = constOf(inputs[1]!);
        if (w === undefined) throw new Error(`graph-to-onnx: ${n.name} weights are not a Const`);
        let [rows, cols] = w.dims as [number, number];
        let data = Float32Array.from(w.data);
        if (n.attr?.transpose_b?.b === true) {
          const t = new Float32Array(data.length);
          for (let r = 0; r < rows; r++)
            for (let c = 0; c < cols; c++) t[c * rows + r] = data[r * cols + c]!;
          data = t;
          [rows, cols] = [cols, rows];
        }
        let y = emit("MatMul", [asNhwc(a), initFloat(`${n.name}/W`, [rows, cols], data)], n.name);
        const fused = n.op === "_FusedMatMul" ? strs(n.attr?.fused_ops) : [];
        if (fused[0] === "BiasAdd") {
          const b = constOf(inputs[2]!)!;
          y = emit("Add", [y, initFloat(`${n.name}/B`, [cols], Float32Array.from(b.data))], n.name);
        } else if (fused.length > 0) {
          throw new Error(`graph-to-onnx: ${n.name} fused ${fused.join(",")} is not supported`);
        }
        for (const act of fused.slice(1)) y = activation(act, y, n.name);
        set(y, 2, "plain");
        break;
      }
      case "ConcatV2": {
        const axisConst = constOf(inputs.at(-1)!);
        if (axisConst === undefined)
          throw new Error(`graph-to-onnx: ${n.name} axis is not a Const`);
        const parts = inputs.slice(0, -1).map(activationOf);
        const rank = parts[0]!.rank;
        let axis = Number(axisConst.data[0]);
        if (axis < 0) axis += rank;
        const allNchw = parts.every((p) => p.layout === "nchw");
        const onnxAxis = allNchw ? TO_NCHW.indexOf(axis) : axis;
        set(
          emit("Concat", allNchw ? parts.map((p) => p.onnx) : parts.map(asNhwc), n.name, {
            axis: { int: onnxAxis },
          }),
          rank,
          allNchw ? "nchw" : "plain",
        );
        break;
      }
      default:
        throw new Error(`graph-to-onnx: op ${n.op} (${n.name}) is not supported`);
    }
  }

  const input = json.modelTopology.node.find((n) => n.op === "Placeholder")!;
  const outputs = options.outputs.map((ref) => {
    const v = activationOf(ref);
    const name = ref.replace(/:0$/, "");
    nodes.push({ op: "Identity", inputs: [asNhwc(v)], outputs: [name], name: `${name}__out` });
    return { name };
  });
  return {
    opset: 13,
    producer: options.producer,
    graphName: options.graphName,
    nodes,
    initializers,
    inputs: [{ name: input.name, shape: options.inputShape }],
    outputs,
    metadata: options.metadata,
  };
}
