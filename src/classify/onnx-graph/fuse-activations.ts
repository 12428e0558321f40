/**
 * Two graph rewrites for models exported from PaddlePaddle (paddle2onnx), which write
 * PP-LCNetV3's layers as chains of one-pass element-wise nodes that ONNX Runtime's CPU
 * optimiser leaves unfused (measured: about 40 % of PaddleOCR v4 detection time went to Add, Mul,
 * Clip and Div over full feature maps):
 *
 * 1. **Scalar affine after a convolution** (the "learnable affine block",
 *    `Conv → Mul(a) → Add(b)` with scalar a and b) is folded into the convolution's weights and
 *    bias: W' = a·W, B' = a·B + b. Exact up to float rounding.
 * 2. **Hard-swish** written as `x · Clip(x + 3, 0, 6) / 6` (four passes) becomes
 *    `x · HardSigmoid(x)` with alpha 1/6 and beta 0.5 (two passes, HardSigmoid exists since
 *    opset 6, so the model's opset stays as it is).
 *
 * Every other node is kept as written. The rewritten model's outputs match the original's to
 * float rounding (fuse-activations.test.ts runs both in ONNX Runtime on real images).
 */
import {
  consumersOf,
  encodeModel,
  type FloatTensor,
  floatAttribute,
  makeNode,
  type OnnxGraph,
  type OnnxNode,
  parseModel,
} from "./model.js";

export interface FuseReport {
  /** Conv → Mul(scalar) [→ Add(scalar)] chains folded into the convolution. */
  convAffine: number;
  /** x · Clip(x + 3, 0, 6) / 6 chains replaced by x · HardSigmoid(x). */
  hardSwish: number;
}

/**
 * Rewrites a model's bytes; a model without these patterns comes back with the same nodes.
 * @example const { model, report } = fuseActivations(readFileSync("det.onnx"));
 */
export function fuseActivations(bytes: Uint8Array): { model: Uint8Array; report: FuseReport } {
  const graph = parseModel(bytes);
  const convAffine = foldConvAffine(graph);
  const hardSwish = fuseHardSwish(graph);
  return { model: encodeModel(graph), report: { convAffine, hardSwish } };
}

function scalar(graph: OnnxGraph, name: string | undefined): number | undefined {
  if (!name) return undefined;
  const t = graph.constants.get(name) ?? graph.added.get(name);
  return t && t.data.length === 1 ? t.data[0] : undefined;
}

/** The one node reading `value` with the given op type, if it is its only reader. */
function soleConsumer(
  graph: OnnxGraph,
  consumers: Map<string, OnnxNode[]>,
  value: string,
  opType: string,
): OnnxNode | undefined {
  if (graph.outputs.has(value)) return undefined;
  const list = consumers.get(value);
  return list?.length === 1 && list[0]!.opType === opType ? list[0] : undefined;
}

/** For a binary node reading `value`, the scalar on its other input. */
function otherScalar(graph: OnnxGraph, node: OnnxNode, value: string): number | undefined {
  if (node.inputs.length !== 2) return undefined;
  const [p, q] = node.inputs;
  if (p === value && q !== value) return scalar(graph, q);
  if (q === value && p !== value) return scalar(graph, p);
  return undefined;
}

function addConstant(graph: OnnxGraph, base: string, tensor: FloatTensor): string {
  let name = base;
  for (let i = 1; graph.constants.has(name) || graph.added.has(name); i++) name = `${base}.${i}`;
  graph.added.set(name, tensor);
  return name;
}

function foldConvAffine(graph: OnnxGraph): number {
  const consumers = consumersOf(graph);
  const removed = new Set<OnnxNode>();
  for (const conv of graph.nodes) {
    if (conv.opType !== "Conv" || conv.inputs.length < 2 || conv.outputs.length !== 1) continue;
    const weight = graph.constants.get(conv.inputs[1]!);
    if (!weight || weight.dims.length < 3) continue;
    const outChannels = weight.dims[0]!;
    const bias = conv.inputs[2]
      ? graph.constants.get(conv.inputs[2])
      : { dims: [outChannels], data: new Float32Array(outChannels) };
    if (!bias || bias.data.length !== outChannels) continue;
    const out = conv.outputs[0]!;
    const mul = soleConsumer(graph, consumers, out, "Mul");
    const a = mul && otherScalar(graph, mul, out);
    if (!mul || a === undefined) continue;
    const add = soleConsumer(graph, consumers, mul.outputs[0]!, "Add");
    const b = add ? otherScalar(graph, add, mul.outputs[0]!) : undefined;
    const last = add && b !== undefined ? add : mul;

    const w = weight.data.map((v) => v * a);
    const bb = bias.data.map((v) => v * a + (last === add ? (b ?? 0) : 0));
    const stem = conv.name || out;
    conv.inputs = [
      conv.inputs[0]!,
      addConstant(graph, `${stem}.hallmark_w`, { dims: weight.dims, data: w }),
      addConstant(graph, `${stem}.hallmark_b`, { dims: [outChannels], data: bb }),
    ];
    conv.outputs = [last.outputs[0]!];
    conv.original = undefined;
    removed.add(mul);
    if (last === add) removed.add(add);
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
  return [...removed].filter((n) => n.opType === "Mul").length;
}

/** Clip's bounds: inputs 1 and 2 from opset 11, attributes min and max before it. */
function clipBounds(graph: OnnxGraph, clip: OnnxNode): [number | undefined, number | undefined] {
  if (clip.inputs.length > 1) return [scalar(graph, clip.inputs[1]), scalar(graph, clip.inputs[2])];
  return [floatAttribute(clip, "min"), floatAttribute(clip, "max")];
}

function fuseHardSwish(graph: OnnxGraph): number {
  const consumers = consumersOf(graph);
  const replaced = new Map<OnnxNode, OnnxNode[]>();
  const removed = new Set<OnnxNode>();
  for (const add of graph.nodes) {
    if (add.opType !== "Add" || add.inputs.length !== 2) continue;
    const three = add.inputs.findIndex((i) => scalar(graph, i) === 3);
    const x = add.inputs[1 - three];
    if (three < 0 || !x) continue;
    const clip = soleConsumer(graph, consumers, add.outputs[0]!, "Clip");
    if (!clip || clip.inputs[0] !== add.outputs[0]) continue;
    const [lo, hi] = clipBounds(graph, clip);
    if (lo !== 0 || hi !== 6) continue;
    const mul = soleConsumer(graph, consumers, clip.outputs[0]!, "Mul");
    if (mul?.inputs.length !== 2 || !mul.inputs.includes(x)) continue;
    const div = soleConsumer(graph, consumers, mul.outputs[0]!, "Div");
    if (!div || div.inputs[0] !== mul.outputs[0] || scalar(graph, div.inputs[1]) !== 6) continue;

    const gate = `${add.outputs[0]}.hallmark_hardsigmoid`;
    const stem = add.name || add.outputs[0]!;
    replaced.set(add, [
      makeNode("HardSigmoid", `${stem}.hallmark_hardsigmoid`, [x], [gate], {
        alpha: 1 / 6,
        beta: 0.5,
      }),
      makeNode("Mul", `${stem}.hallmark_hardswish`, [x, gate], [div.outputs[0]!]),
    ]);
    for (const n of [clip, mul, div]) removed.add(n);
  }
  graph.nodes = graph.nodes.flatMap((n) => replaced.get(n) ?? (removed.has(n) ? [] : [n]));
  return replaced.size;
}
