/**
 * Static 8-bit quantisation of a convolutional network for ONNX Runtime's CPU provider, written
 * as a QDQ graph (QuantizeLinear → DequantizeLinear pairs around each activation, integer weights
 * behind a DequantizeLinear). ONNX Runtime fuses `DQ → Conv → Q` into QLinearConv (u8 activations,
 * s8 per-channel weights, which MLAS runs with AVX-512 VNNI / AVX2 integer kernels), and likewise
 * Add, Mul, Concat, GlobalAveragePool and Resize; anything else runs in float between a DQ and a Q.
 *
 * Built for PaddleOCR's PP-OCRv4 detector (after `fuseActivations`), whose graph has three
 * patterns that a plain QDQ pass leaves in float and this one does not:
 *
 * - **Hard-swish** `x · HardSigmoid(x)`: HardSigmoid has no integer kernel. Its value is
 *   clip(x + 3, 0, 6) / 6, which a QuantizeLinear computes by itself: Q(x; 6/254, 128) maps
 *   x ∈ [−3, 3] onto [1, 255] and saturates at 255 exactly where x + 3 passes 6, and
 *   DQ(·; 1/254, 1) scales it to [0, 1]. (An integer zero point cannot put both ends on the
 *   saturation points: below −3 the gate is −1/254 instead of 0. Placed at the top instead, it
 *   was 255/254 for every x above 3, a gain on the large activations that the next layers
 *   compound; measured, the map strayed further: 0.047 against 0.045.) The Mul then has two
 *   quantised inputs (QLinearMul).
 * - **A scalar affine after an activation** (`Mul(a) → Add(b)`, PP-LCNetV3's learnable affine
 *   blocks that `fuseActivations` cannot fold into a convolution): absorbed into the
 *   quantisation of its input. With y = a·m + b quantised as (s_y, z_y), m is quantised with
 *   scale s_y / a and zero point z_y + round(b / s_y), and dequantised with (s_y, z_y): the
 *   dequantised value is a·m + b to within half a step of y. Needs a > 0 and the zero point in
 *   [0, 255]; otherwise the pair stays as written.
 * - **Batch normalisation** after a convolution or transposed convolution is folded into its
 *   weights and bias (exact up to float rounding), as is a transposed convolution's bias Add.
 *
 * Weights are s8 per output channel within ±63 (see S8_MAX), activations u8 per tensor.
 *
 * Two regions stay in float by choice: the nodes before `options.firstQuantised` (the stem,
 * where the measured error of 8-bit activations was largest; docs/image-screening.md) and
 * everything from the first ConvTranspose on (ONNX Runtime has no QDQ rule for it).
 *
 * Activation ranges come from calibration (scripts/models/calibrate-ocr-detector.ts): one
 * [lo, hi] per tensor, as measured on the graph `prepareForQuantisation` returns.
 */
import { fuseActivations } from "./fuse-activations.js";
import {
  type AddedTensor,
  consumersOf,
  encodeModel,
  type FloatTensor,
  floatAttribute,
  makeNode,
  type OnnxGraph,
  type OnnxNode,
  parseModel,
  producersOf,
} from "./model.js";

export type ActivationRanges = Record<string, readonly [number, number]>;

export interface QuantiseOptions {
  ranges: ActivationRanges;
  /** The first node (by name) run in 8 bits; every node before it stays float. */
  firstQuantised: string;
  /** Absorb scalar affine pairs into quantisations (default true; false keeps them as nodes). */
  absorbAffine?: boolean;
}

export interface QuantiseReport {
  /** Convolutions run as QLinearConv. */
  convolutions: number;
  /** Hard-swish gates computed by a QuantizeLinear. */
  hardSwish: number;
  /** Scalar affine pairs absorbed into a quantisation. */
  affine: number;
  /** Batch normalisations (and transposed-convolution biases) folded into weights. */
  folded: number;
  /** Activations quantised (QuantizeLinear → DequantizeLinear pairs). */
  activations: number;
}

export class QuantiseError extends Error {
  override name = "QuantiseError";
}

/** ONNX opset 13: DequantizeLinear's `axis` (per-channel weights) needs it. */
const QDQ_OPSET = 13;
const U8_MAX = 255;
/**
 * Weights within ±63 (7 bits, ONNX Runtime's `reduce_range`): on x86 CPUs without VNNI, MLAS
 * multiplies u8 activations by s8 weights in pairs summed into 16 bits, which saturates with
 * full-range weights (2·255·127 > 32767); within ±63 every kernel computes the exact integer
 * sums, so an image's verdict does not depend on the CPU a replica runs on. Measured cost: the
 * 8-bit map's distance from the float one 0.040 → 0.047 (models/ocr/README.md).
 */
const S8_MAX = 63;
/** The hard-swish gate's quantisation: 254 steps over x ∈ [−3, 3], from 1 to 255. */
const GATE_STEPS = 254;
const GATE_ZERO = 1;

/**
 * The float graph the ranges are measured on: `fuseActivations`, then batch normalisations
 * folded. Its outputs match the shipped model's to float rounding.
 */
export function prepareForQuantisation(bytes: Uint8Array): { graph: OnnxGraph; folded: number } {
  const graph = parseModel(fuseActivations(bytes).model);
  const folded = foldBatchNorms(graph);
  return { graph, folded };
}

/**
 * Every value a calibration run should observe: the graph input and each node's output other
 * than Constant nodes' and the graph's own outputs.
 */
export function calibrationTensors(graph: OnnxGraph): string[] {
  const seen = new Set<string>();
  const inputs = graphInputs(graph);
  for (const i of inputs) seen.add(i);
  for (const n of graph.nodes) {
    if (n.opType === "Constant") continue;
    for (const o of n.outputs) if (!graph.outputs.has(o)) seen.add(o);
  }
  return [...seen];
}

/**
 * The model's bytes rewritten in QDQ form.
 * @example const { model } = quantiseStatic(readFileSync(det), { ranges, firstQuantised: "p2o.Conv.12" });
 */
export function quantiseStatic(
  bytes: Uint8Array,
  options: QuantiseOptions,
): { model: Uint8Array; report: QuantiseReport } {
  const { graph, folded } = prepareForQuantisation(bytes);
  const report = rewrite(graph, options);
  graph.opset = QDQ_OPSET;
  return { model: encodeModel(graph), report: { ...report, folded } };
}

/** Values read by nodes but produced by none and not constant: the graph's inputs. */
function graphInputs(graph: OnnxGraph): string[] {
  const produced = new Set(graph.nodes.flatMap((n) => n.outputs));
  const out: string[] = [];
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (i && !produced.has(i) && !isConstant(graph, i) && !out.includes(i)) out.push(i);
    }
  }
  return out;
}

function isConstant(graph: OnnxGraph, name: string): boolean {
  return graph.constants.has(name) || graph.added.has(name);
}

function floatConstant(graph: OnnxGraph, name: string | undefined): FloatTensor | undefined {
  if (!name) return undefined;
  const t = graph.constants.get(name) ?? graph.added.get(name);
  return t && t.data instanceof Float32Array ? (t as FloatTensor) : undefined;
}

function addTensor(graph: OnnxGraph, name: string, tensor: AddedTensor): string {
  if (graph.constants.has(name) || graph.added.has(name)) {
    throw new QuantiseError(`a tensor named ${name} exists already`);
  }
  graph.added.set(name, tensor);
  return name;
}

/** Conv → BatchNormalization and ConvTranspose [→ Add(bias)] [→ BatchNormalization]. */
function foldBatchNorms(graph: OnnxGraph): number {
  const consumers = consumersOf(graph);
  const removed = new Set<OnnxNode>();
  let folded = 0;
  const sole = (value: string) => {
    const list = consumers.get(value);
    return list?.length === 1 && !graph.outputs.has(value) ? list[0] : undefined;
  };
  for (const conv of graph.nodes) {
    if (conv.opType !== "Conv" && conv.opType !== "ConvTranspose") continue;
    const weight = floatConstant(graph, conv.inputs[1]);
    if (weight?.dims.length !== 4 || conv.outputs.length !== 1) continue;
    const transposed = conv.opType === "ConvTranspose";
    if (transposed && intAttribute(conv, "group", 1) !== 1) continue;
    const channels = weight.dims[transposed ? 1 : 0]!;
    const bias = new Float64Array(channels);
    const given = floatConstant(graph, conv.inputs[2]);
    if (conv.inputs[2] && (!given || given.data.length !== channels)) continue;
    if (given) bias.set(given.data);
    const scale = new Float64Array(channels).fill(1);
    let out = conv.outputs[0]!;
    let changed = false;
    // A transposed convolution's bias written as a separate Add of a per-channel constant.
    const add = transposed ? sole(out) : undefined;
    if (add?.opType === "Add") {
      const other = add.inputs.find((i) => i !== out);
      const b = floatConstant(graph, other);
      if (b && b.data.length === channels && add.inputs.includes(out)) {
        for (let c = 0; c < channels; c++) bias[c]! += b.data[c]!;
        removed.add(add);
        out = add.outputs[0]!;
        changed = true;
      }
    }
    const bn = sole(out);
    if (bn?.opType === "BatchNormalization" && bn.inputs[0] === out) {
      const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((k) =>
        floatConstant(graph, bn.inputs[k]),
      );
      if (gamma && beta && mean && variance && gamma.data.length === channels) {
        const eps = floatAttribute(bn, "epsilon") ?? 1e-5;
        for (let c = 0; c < channels; c++) {
          const k = gamma.data[c]! / Math.sqrt(variance.data[c]! + eps);
          scale[c] = k;
          bias[c] = (bias[c]! - mean.data[c]!) * k + beta.data[c]!;
        }
        removed.add(bn);
        out = bn.outputs[0]!;
        changed = true;
      }
    }
    if (!changed) continue;
    const [d0, d1, kh, kw] = weight.dims as [number, number, number, number];
    const w = new Float32Array(weight.data.length);
    const per = kh * kw;
    for (let i = 0; i < d0; i++) {
      for (let j = 0; j < d1; j++) {
        const c = transposed ? j : i;
        for (let k = 0; k < per; k++) {
          const at = (i * d1 + j) * per + k;
          w[at] = weight.data[at]! * scale[c]!;
        }
      }
    }
    const stem = conv.name || conv.outputs[0]!;
    conv.inputs = [
      conv.inputs[0]!,
      addTensor(graph, `${stem}.hallmark_folded_w`, { dims: weight.dims, data: w }),
      addTensor(graph, `${stem}.hallmark_folded_b`, {
        dims: [channels],
        data: Float32Array.from(bias),
      }),
    ];
    conv.outputs = [out];
    conv.original = undefined;
    folded++;
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
  return folded;
}

function intAttribute(node: OnnxNode, name: string, fallback: number): number {
  const attr = node.attributes.get(name);
  // AttributeProto.i is field 3, a varint.
  const f = attr?.find((x) => x.no === 3 && x.wire === 0);
  if (!f) return fallback;
  let v = 0;
  let shift = 1;
  for (const byte of f.value) {
    v += (byte & 0x7f) * shift;
    shift *= 128;
  }
  return v;
}

interface Quantisation {
  scale: number;
  zero: number;
}

/**
 * Asymmetric u8 over the measured range, widened to include 0 (so zero padding is exact);
 * `step` overrides the scale (a wider one).
 */
function u8(
  range: readonly [number, number] | undefined,
  name: string,
  step?: number,
): Quantisation {
  if (!range) throw new QuantiseError(`no calibrated range for ${name}`);
  const lo = Math.min(range[0], 0);
  const hi = Math.max(range[1], 0);
  const scale = step ?? (hi > lo ? (hi - lo) / U8_MAX : 1);
  const zero = Math.min(U8_MAX, Math.max(0, Math.round(-lo / scale)));
  return { scale, zero };
}

function rewrite(graph: OnnxGraph, options: QuantiseOptions): Omit<QuantiseReport, "folded"> {
  const { ranges } = options;
  const nodes = graph.nodes.filter((n) => n.opType !== "Constant");
  const start = nodes.findIndex((n) => n.name === options.firstQuantised);
  if (start < 0) throw new QuantiseError(`no node named ${options.firstQuantised}`);
  const tailAt = nodes.findIndex((n) => n.opType === "ConvTranspose");
  const end = tailAt < 0 ? nodes.length : tailAt;
  const region = new Map<OnnxNode, "float" | "int8">();
  for (const [i, n] of nodes.entries()) region.set(n, i >= start && i < end ? "int8" : "float");
  const producers = producersOf(graph);
  const consumers = consumersOf(graph);
  const inInt8 = (n: OnnxNode | undefined) => n !== undefined && region.get(n) === "int8";
  const constant = (name: string) => isConstant(graph, name);
  const scalar = (name: string | undefined) => {
    const t = floatConstant(graph, name);
    return t && t.data.length === 1 ? t.data[0] : undefined;
  };

  // Hard-swish gates: HardSigmoid(x) (alpha 1/6, beta 1/2) read only by Mul(x, gate).
  const gates = new Map<string, string>();
  for (const n of nodes) {
    if (n.opType !== "HardSigmoid" || !inInt8(n)) continue;
    const alpha = floatAttribute(n, "alpha") ?? 0.2;
    const beta = floatAttribute(n, "beta") ?? 0.5;
    if (Math.abs(alpha - 1 / 6) > 1e-6 || beta !== 0.5) continue;
    const x = n.inputs[0]!;
    const readers = consumers.get(n.outputs[0]!) ?? [];
    const mul = readers[0];
    if (readers.length === 1 && mul?.opType === "Mul" && mul.inputs.includes(x) && inInt8(mul)) {
      gates.set(n.outputs[0]!, x);
    }
  }

  // Scalar affine pairs Mul(a) → Add(b) after a tensor read by nothing else.
  const affine = new Map<string, { y: string; q: Quantisation; dq: Quantisation }>();
  const dropped = new Set<OnnxNode>();
  for (const n of nodes) {
    if (options.absorbAffine === false) break;
    if (n.opType !== "Mul" || !inInt8(n) || n.inputs.length !== 2) continue;
    const m = n.inputs.find((i) => !constant(i));
    const a = scalar(n.inputs.find((i) => constant(i)));
    if (!m || a === undefined || !(a > 0) || (consumers.get(m)?.length ?? 0) !== 1) continue;
    if (!inInt8(producers.get(m))) continue;
    const readers = consumers.get(n.outputs[0]!) ?? [];
    const add = readers[0];
    if (readers.length !== 1 || add?.opType !== "Add" || !inInt8(add)) continue;
    const b = scalar(add.inputs.find((i) => i !== n.outputs[0]));
    if (b === undefined) continue;
    const y = add.outputs[0]!;
    // y's step is widened (never narrowed) until b is a whole number of steps, so that the
    // zero points differ by exactly b: otherwise every value of y is off by the remainder, a
    // bias that, unlike rounding noise, does not average out in the next convolution.
    const measured = u8(ranges[y], y);
    const steps = Math.trunc(b / measured.scale);
    const dq = steps === 0 ? measured : u8(ranges[y], y, b / steps);
    const zero = dq.zero + (steps === 0 ? Math.round(b / dq.scale) : steps);
    if (zero < 0 || zero > U8_MAX) continue;
    affine.set(m, { y, q: { scale: dq.scale / a, zero }, dq });
    dropped.add(n);
    dropped.add(add);
  }

  const out: OnnxNode[] = [];
  const renamed = new Map<string, string>();
  const quantisation = new Map<string, Quantisation>();
  let activations = 0;
  const pair = (value: string, q: Quantisation, dq: Quantisation, as: string) => {
    const qs = addTensor(graph, `${value}.hallmark_q_scale`, scalarF(q.scale));
    const qz = addTensor(graph, `${value}.hallmark_q_zero`, scalarU8(q.zero));
    const ds = dq === q ? qs : addTensor(graph, `${as}.hallmark_dq_scale`, scalarF(dq.scale));
    const dz = dq === q ? qz : addTensor(graph, `${as}.hallmark_dq_zero`, scalarU8(dq.zero));
    const quantised = `${value}.hallmark_u8`;
    out.push(makeNode("QuantizeLinear", `${value}.hallmark_q`, [value, qs, qz], [quantised]));
    out.push(makeNode("DequantizeLinear", `${as}.hallmark_dq`, [quantised, ds, dz], [as]));
    activations++;
  };
  /** Quantises `value` after its producer if anything in the int8 region reads it. */
  const emit = (value: string, producer: OnnxNode | undefined) => {
    if (graph.outputs.has(value) || constant(value)) return;
    const readers = consumers.get(value) ?? [];
    const needed = inInt8(producer) || readers.some((r) => inInt8(r));
    if (!needed) return;
    // A convolution whose only reader is Relu: the Relu's output is quantised instead (ONNX
    // Runtime drops a Relu before a QuantizeLinear whose zero point is 0).
    if (producer?.opType === "Conv" && readers.length === 1 && readers[0]!.opType === "Relu") {
      return;
    }
    const absorbed = affine.get(value);
    if (absorbed) {
      const as = `${absorbed.y}.hallmark_value`;
      pair(value, absorbed.q, absorbed.dq, as);
      renamed.set(absorbed.y, as);
      quantisation.set(absorbed.y, absorbed.dq);
      return;
    }
    // Nearest-neighbour Resize keeps its input's values: same quantisation, so ONNX Runtime
    // runs it on the u8 values.
    const source = producer?.opType === "Resize" ? producer.inputs[0] : undefined;
    const q = (source ? quantisation.get(source) : undefined) ?? u8(ranges[value], value);
    quantisation.set(value, q);
    const as = `${value}.hallmark_value`;
    pair(value, q, q, as);
    renamed.set(value, as);
  };

  for (const input of graphInputs(graph)) emit(input, undefined);
  let convolutions = 0;
  let hardSwish = 0;
  for (const n of graph.nodes) {
    if (dropped.has(n)) continue;
    const gate = n.opType === "HardSigmoid" ? gates.get(n.outputs[0]!) : undefined;
    if (gate !== undefined) {
      const source = renamed.get(gate);
      if (!source) throw new QuantiseError(`hard-swish input ${gate} is not quantised`);
      const value = n.outputs[0]!;
      const qs = addTensor(graph, `${value}.hallmark_q_scale`, scalarF(6 / GATE_STEPS));
      const qz = addTensor(graph, `${value}.hallmark_q_zero`, scalarU8(GATE_STEPS / 2 + GATE_ZERO));
      const ds = addTensor(graph, `${value}.hallmark_dq_scale`, scalarF(1 / GATE_STEPS));
      const dz = addTensor(graph, `${value}.hallmark_dq_zero`, scalarU8(GATE_ZERO));
      const quantised = `${value}.hallmark_u8`;
      const as = `${value}.hallmark_value`;
      out.push(makeNode("QuantizeLinear", `${value}.hallmark_q`, [source, qs, qz], [quantised]));
      out.push(makeNode("DequantizeLinear", `${value}.hallmark_dq`, [quantised, ds, dz], [as]));
      renamed.set(value, as);
      hardSwish++;
      continue;
    }
    if (n.opType !== "Constant" && region.get(n) !== undefined) {
      n.inputs = n.inputs.map((i) => {
        const r = renamed.get(i);
        // Float nodes before the int8 region read the float values themselves; those after it
        // read the dequantised ones (the int8 producer's float output feeds its Q alone).
        return r && (inInt8(n) || inInt8(producers.get(i))) ? r : i;
      });
      n.original = undefined;
      if (n.opType === "Conv" && inInt8(n) && n.inputs[0]!.endsWith(".hallmark_value")) {
        const input = quantisation.get(n.inputs[0]!.replace(/\.hallmark_value$/, ""));
        if (!input) throw new QuantiseError(`no quantisation for the input of ${n.name}`);
        quantiseConvWeights(graph, n, input, out);
        convolutions++;
      }
    }
    out.push(n);
    if (n.opType !== "Constant") for (const o of n.outputs) emit(o, n);
  }
  graph.nodes = out;
  return { convolutions, hardSwish, affine: affine.size, activations };
}

function scalarF(v: number): AddedTensor {
  return { dims: [], data: Float32Array.of(v) };
}

function scalarU8(v: number): AddedTensor {
  return { dims: [], data: Uint8Array.of(v) };
}

/**
 * Symmetric per-output-channel weights (±S8_MAX) and an s32 bias at scale s_x·s_w, each behind a
 * DequantizeLinear (the pattern ONNX Runtime turns into QLinearConv).
 */
function quantiseConvWeights(
  graph: OnnxGraph,
  conv: OnnxNode,
  input: Quantisation,
  out: OnnxNode[],
): void {
  const weight = floatConstant(graph, conv.inputs[1]);
  if (weight?.dims.length !== 4) {
    throw new QuantiseError(`${conv.name}: weights are not a constant 4-d tensor`);
  }
  const channels = weight.dims[0]!;
  const per = weight.data.length / channels;
  const q = new Int8Array(weight.data.length);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let max = 0;
    for (let k = 0; k < per; k++) max = Math.max(max, Math.abs(weight.data[c * per + k]!));
    const s = max > 0 ? max / S8_MAX : 1;
    scales[c] = s;
    for (let k = 0; k < per; k++) {
      q[c * per + k] = Math.max(
        -S8_MAX,
        Math.min(S8_MAX, Math.round(weight.data[c * per + k]! / s)),
      );
    }
  }
  const stem = conv.name || conv.outputs[0]!;
  /** Integer values and per-channel scales (zero points 0) behind a DequantizeLinear. */
  const dequantised = (
    name: string,
    dims: number[],
    values: Int8Array | Int32Array,
    scale: Float32Array,
  ) => {
    const v = addTensor(graph, `${stem}.hallmark_${name}_q`, { dims, data: values });
    const s = addTensor(graph, `${stem}.hallmark_${name}_scale`, { dims: [channels], data: scale });
    const zero = values instanceof Int8Array ? new Int8Array(channels) : new Int32Array(channels);
    const z = addTensor(graph, `${stem}.hallmark_${name}_zero`, { dims: [channels], data: zero });
    const value = `${stem}.hallmark_${name}_dq`;
    out.push(makeNode("DequantizeLinear", `${value}.dq`, [v, s, z], [value], {}, { axis: 0 }));
    return value;
  };
  const inputs = [conv.inputs[0]!, dequantised("w", weight.dims, q, scales)];
  const bias = floatConstant(graph, conv.inputs[2]);
  if (bias) {
    const bs = new Float32Array(channels);
    const bq = new Int32Array(channels);
    for (let c = 0; c < channels; c++) {
      // The scale ONNX Runtime's QLinearConv applies to the accumulator: s_x · s_w[c].
      bs[c] = Math.fround(input.scale) * scales[c]!;
      bq[c] = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(bias.data[c]! / bs[c]!)));
    }
    inputs.push(dequantised("b", [channels], bq, bs));
  }
  conv.inputs = inputs;
}
