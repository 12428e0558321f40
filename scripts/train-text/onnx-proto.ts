/**
 * A minimal ONNX writer: just enough of the protobuf wire format (varints and length-delimited
 * fields) to write a ModelProto with float and int64 tensors, so that training needs no Python.
 * Field numbers are those of onnx/onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto).
 */

/** TensorProto.DataType values. */
export const FLOAT = 1;
export const INT64 = 7;

class Writer {
  private chunks: number[] = [];
  varint(value: number): this {
    let v = BigInt(value);
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      this.chunks.push(byte);
    } while (v > 0n);
    return this;
  }
  key(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  uint(field: number, value: number): this {
    return this.key(field, 0).varint(value);
  }
  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2).varint(data.length);
    for (const b of data) this.chunks.push(b);
    return this;
  }
  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }
  message(field: number, inner: Writer): this {
    return this.bytes(field, inner.finish());
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

export interface Tensor {
  name: string;
  dataType: typeof FLOAT | typeof INT64;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
}

export interface ValueInfo {
  name: string;
  elemType: typeof FLOAT | typeof INT64;
  /** Numbers are fixed sizes; strings are symbolic (dynamic) dimensions. */
  shape: Array<number | string>;
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
  w.uint(2, t.dataType).string(8, t.name);
  return w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function valueInfo(v: ValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = typeof d === "number" ? new Writer().uint(1, d) : new Writer().string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new Writer().uint(1, v.elemType).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

function node(n: Node): Writer {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  return w.string(3, n.name).string(4, n.op);
}

/** Serialises a model to ONNX bytes (IR version 8). */
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
