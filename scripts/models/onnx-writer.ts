/**
 * A small ONNX writer: the protobuf wire format (varints, length-delimited fields, packed
 * floats) for a ModelProto with float and int64 initialisers and node attributes, so that the
 * model conversions need neither Python nor a protobuf library. Field numbers are those of
 * onnx/onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto).
 */

/** TensorProto.DataType values. */
export const FLOAT = 1;
export const INT64 = 7;

class Writer {
  private parts: Uint8Array[] = [];
  private small: number[] = [];
  private flush(): void {
    if (this.small.length > 0) {
      this.parts.push(Uint8Array.from(this.small));
      this.small = [];
    }
  }
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      this.small.push(byte);
    } while (v > 0n);
    return this;
  }
  key(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  uint(field: number, value: number | bigint): this {
    return this.key(field, 0).varint(value);
  }
  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.key(field, 5);
    this.small.push(...b);
    return this;
  }
  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2).varint(data.length);
    this.flush();
    this.parts.push(data);
    return this;
  }
  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }
  message(field: number, inner: Writer): this {
    return this.bytes(field, inner.finish());
  }
  finish(): Uint8Array {
    this.flush();
    const n = this.parts.reduce((s, p) => s + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export interface Tensor {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** Attribute values: integers, floats, strings, lists of integers (what the converters need). */
export type Attribute =
  | { int: number }
  | { float: number }
  | { string: string }
  | { ints: number[] };

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes?: Record<string, Attribute>;
}

export interface ValueInfo {
  name: string;
  /** Numbers are fixed sizes; strings are symbolic (dynamic) dimensions; absent: not stated. */
  shape?: Array<number | string>;
}

export interface Model {
  opset: number;
  producer: string;
  graphName: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  metadata: Record<string, string>;
}

function tensor(t: Tensor): Writer {
  const w = new Writer();
  for (const d of t.dims) w.uint(1, d);
  w.uint(2, t.data instanceof Float32Array ? FLOAT : INT64).string(8, t.name);
  const bytes = new Uint8Array(t.data.byteLength);
  bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return w.bytes(9, bytes);
}

function valueInfo(v: ValueInfo): Writer {
  const tensorType = new Writer().uint(1, FLOAT);
  if (v.shape !== undefined) {
    const shape = new Writer();
    for (const d of v.shape) {
      shape.message(1, typeof d === "number" ? new Writer().uint(1, d) : new Writer().string(2, d));
    }
    tensorType.message(2, shape);
  }
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

// AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7).
function attribute(name: string, a: Attribute): Writer {
  const w = new Writer().string(1, name);
  if ("string" in a) return w.string(4, a.string).uint(20, 3);
  if ("int" in a) return w.uint(3, BigInt(a.int)).uint(20, 2);
  if ("float" in a) return w.float(2, a.float).uint(20, 1);
  for (const i of a.ints) w.uint(8, BigInt(i));
  return w.uint(20, 7);
}

function node(n: Node): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.op);
  for (const [k, a] of Object.entries(n.attributes ?? {})) w.message(5, attribute(k, a));
  return w;
}

/** Serialises a model to ONNX bytes (IR version 8, default domain). */
export function encodeModel(m: Model): Uint8Array {
  const graph = new Writer();
  for (const n of m.nodes) graph.message(1, node(n));
  graph.string(2, m.graphName);
  for (const t of m.initializers) graph.message(5, tensor(t));
  for (const v of m.inputs) graph.message(11, valueInfo(v));
  for (const v of m.outputs) graph.message(12, valueInfo(v));
  const model = new Writer().uint(1, 8).string(2, m.producer);
  model.message(7, graph);
  model.message(8, new Writer().string(1, "").uint(2, m.opset));
  for (const [k, v] of Object.entries(m.metadata)) {
    model.message(14, new Writer().string(1, k).string(2, v));
  }
  return model.finish();
}
