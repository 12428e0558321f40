/**
 * An ONNX model's graph as a list of nodes and float constants, read from and written back to
 * the protobuf bytes. Field numbers are those of onnx/onnx.proto
 * (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto). Nodes and initialisers that a
 * rewrite does not touch are written back as the bytes they were read as.
 */
import {
  decodeFields,
  encodeFields,
  FIXED32,
  type Field,
  float32Field,
  LEN,
  lenField,
  ProtobufError,
  repeatedVarints,
  stringValue,
  varintField,
  varintValue,
} from "./protobuf.js";

const MODEL_GRAPH = 7;
const MODEL_OPSET_IMPORT = 8;
const OPSET_DOMAIN = 1;
const OPSET_VERSION = 2;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_OUTPUT = 12;
const VALUE_INFO_NAME = 1;
const VALUE_INFO_TYPE = 2;
const TYPE_TENSOR = 1;
const TENSOR_TYPE_ELEM_TYPE = 1;
const NODE_INPUT = 1;
const NODE_OUTPUT = 2;
const NODE_NAME = 3;
const NODE_OP_TYPE = 4;
const NODE_ATTRIBUTE = 5;
const NODE_DOMAIN = 7;
const ATTR_NAME = 1;
const ATTR_F = 2;
const ATTR_I = 3;
const ATTR_T = 5;
const ATTR_TYPE = 20;
const ATTR_TYPE_FLOAT = 1;
const ATTR_TYPE_INT = 2;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;
const TENSOR_FLOAT_DATA = 4;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const TENSOR_DATA_LOCATION = 14;
const DATA_TYPE_FLOAT = 1;
const DATA_TYPE_UINT8 = 2;
const DATA_TYPE_INT8 = 3;
const DATA_TYPE_INT32 = 6;

export interface FloatTensor {
  dims: number[];
  data: Float32Array;
}

/** A tensor added by a rewrite: float, or the integer types of quantised weights. */
export interface AddedTensor {
  dims: number[];
  data: Float32Array | Uint8Array | Int8Array | Int32Array;
}

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Attributes by name, each as its AttributeProto's fields. */
  attributes: Map<string, Field[]>;
  /** The bytes read, while the node is unchanged; cleared by a rewrite. */
  original?: Uint8Array;
  /** Fields other than inputs, outputs, name and op type (attributes, domain, doc string). */
  rest: Field[];
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  /** Float constants by value name: initialisers and Constant nodes' `value` tensors. */
  constants: Map<string, FloatTensor>;
  /** The graph's own outputs (never folded away). */
  outputs: Set<string>;
  /** Initialisers to add, by name. */
  added: Map<string, AddedTensor>;
  /** Further graph outputs (float tensors) to declare, e.g. intermediate values to observe. */
  extraOutputs: string[];
  /** The default domain's opset to declare instead of the model's, when set. */
  opset?: number;
  modelFields: Field[];
  graphFields: Field[];
}

export function parseModel(bytes: Uint8Array): OnnxGraph {
  const modelFields = decodeFields(bytes);
  const graphField = modelFields.find((f) => f.no === MODEL_GRAPH && f.wire === LEN);
  if (!graphField) throw new ProtobufError("the model has no graph");
  const graphFields = decodeFields(graphField.value);
  const nodes: OnnxNode[] = [];
  const constants = new Map<string, FloatTensor>();
  const outputs = new Set<string>();
  for (const f of graphFields) {
    if (f.no === GRAPH_NODE) nodes.push(parseNode(f.value));
    else if (f.no === GRAPH_INITIALIZER) {
      const t = decodeFields(f.value);
      const name = t.find((x) => x.no === TENSOR_NAME);
      const tensor = floatTensor(t);
      if (name && tensor) constants.set(stringValue(name), tensor);
    } else if (f.no === GRAPH_OUTPUT) {
      const name = decodeFields(f.value).find((x) => x.no === VALUE_INFO_NAME);
      if (name) outputs.add(stringValue(name));
    }
  }
  for (const node of nodes) {
    const value = node.attributes.get("value")?.find((f) => f.no === ATTR_T);
    const tensor = value && floatTensor(decodeFields(value.value));
    if (node.opType === "Constant" && tensor && node.outputs[0]) {
      constants.set(node.outputs[0], tensor);
    }
  }
  return {
    nodes,
    constants,
    outputs,
    added: new Map(),
    extraOutputs: [],
    modelFields,
    graphFields,
  };
}

function parseNode(bytes: Uint8Array): OnnxNode {
  const node: OnnxNode = {
    opType: "",
    name: "",
    inputs: [],
    outputs: [],
    attributes: new Map(),
    original: bytes,
    rest: [],
  };
  for (const f of decodeFields(bytes)) {
    if (f.no === NODE_INPUT) node.inputs.push(stringValue(f));
    else if (f.no === NODE_OUTPUT) node.outputs.push(stringValue(f));
    else if (f.no === NODE_NAME) node.name = stringValue(f);
    else if (f.no === NODE_OP_TYPE) node.opType = stringValue(f);
    else {
      node.rest.push(f);
      if (f.no === NODE_ATTRIBUTE) {
        const attr = decodeFields(f.value);
        const name = attr.find((x) => x.no === ATTR_NAME);
        if (name) node.attributes.set(stringValue(name), attr);
      }
    }
  }
  return node;
}

/** A float tensor stored in the model itself (raw_data or float_data), else undefined. */
function floatTensor(fields: readonly Field[]): FloatTensor | undefined {
  const type = fields.find((f) => f.no === TENSOR_DATA_TYPE);
  if (!type || varintValue(type) !== BigInt(DATA_TYPE_FLOAT)) return undefined;
  const location = fields.find((f) => f.no === TENSOR_DATA_LOCATION);
  if (location && varintValue(location) !== 0n) return undefined;
  const dims = repeatedVarints(fields, TENSOR_DIMS).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = fields.find((f) => f.no === TENSOR_RAW_DATA);
  const data = new Float32Array(count);
  if (raw) {
    if (raw.value.length !== count * 4) return undefined;
    const view = new DataView(raw.value.buffer, raw.value.byteOffset, raw.value.byteLength);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
    return { dims, data };
  }
  const values: number[] = [];
  for (const f of fields) {
    if (f.no !== TENSOR_FLOAT_DATA) continue;
    const view = new DataView(f.value.buffer, f.value.byteOffset, f.value.byteLength);
    for (let at = 0; at + 4 <= f.value.length; at += 4) values.push(view.getFloat32(at, true));
  }
  if (values.length !== count) return undefined;
  data.set(values);
  return { dims, data };
}

/** Every node reading each value, in graph order. */
export function consumersOf(graph: OnnxGraph): Map<string, OnnxNode[]> {
  const map = new Map<string, OnnxNode[]>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      const list = map.get(i);
      if (list) list.push(n);
      else map.set(i, [n]);
    }
  }
  return map;
}

/** The node writing each value. */
export function producersOf(graph: OnnxGraph): Map<string, OnnxNode> {
  const map = new Map<string, OnnxNode>();
  for (const n of graph.nodes) for (const o of n.outputs) map.set(o, n);
  return map;
}

/** A new node (written from scratch when the model is encoded). */
export function makeNode(
  opType: string,
  name: string,
  inputs: string[],
  outputs: string[],
  floatAttributes: Record<string, number> = {},
  intAttributes: Record<string, number> = {},
): OnnxNode {
  const attributes = new Map<string, Field[]>();
  const rest: Field[] = [];
  const add = (key: string, attr: Field[]) => {
    attributes.set(key, attr);
    rest.push(lenField(NODE_ATTRIBUTE, encodeFields(attr)));
  };
  for (const [key, value] of Object.entries(floatAttributes)) {
    add(key, [
      lenField(ATTR_NAME, key),
      float32Field(ATTR_F, value),
      varintField(ATTR_TYPE, ATTR_TYPE_FLOAT),
    ]);
  }
  for (const [key, value] of Object.entries(intAttributes)) {
    add(key, [
      lenField(ATTR_NAME, key),
      varintField(ATTR_I, value),
      varintField(ATTR_TYPE, ATTR_TYPE_INT),
    ]);
  }
  return { opType, name, inputs, outputs, attributes, rest };
}

/** A float attribute's value (AttributeProto.f), if the node has one by that name. */
export function floatAttribute(node: OnnxNode, name: string): number | undefined {
  const f = node.attributes.get(name)?.find((x) => x.no === ATTR_F && x.wire === FIXED32);
  if (!f) return undefined;
  return new DataView(f.value.buffer, f.value.byteOffset, 4).getFloat32(0, true);
}

function encodeNode(node: OnnxNode): Uint8Array {
  if (node.original) return node.original;
  const fields: Field[] = [
    ...node.inputs.map((s) => lenField(NODE_INPUT, s)),
    ...node.outputs.map((s) => lenField(NODE_OUTPUT, s)),
  ];
  if (node.name) fields.push(lenField(NODE_NAME, node.name));
  fields.push(lenField(NODE_OP_TYPE, node.opType));
  fields.push(...node.rest.filter((f) => f.no !== NODE_DOMAIN || f.value.length > 0));
  return encodeFields(fields);
}

function encodeTensor(name: string, t: AddedTensor): Uint8Array {
  const d = t.data;
  let type = DATA_TYPE_FLOAT;
  let raw: Buffer;
  if (d instanceof Float32Array) {
    raw = Buffer.alloc(d.length * 4);
    for (let i = 0; i < d.length; i++) raw.writeFloatLE(d[i]!, i * 4);
  } else if (d instanceof Int32Array) {
    type = DATA_TYPE_INT32;
    raw = Buffer.alloc(d.length * 4);
    for (let i = 0; i < d.length; i++) raw.writeInt32LE(d[i]!, i * 4);
  } else {
    type = d instanceof Int8Array ? DATA_TYPE_INT8 : DATA_TYPE_UINT8;
    raw = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  }
  return encodeFields([
    ...t.dims.map((n) => varintField(TENSOR_DIMS, n)),
    varintField(TENSOR_DATA_TYPE, type),
    lenField(TENSOR_NAME, name),
    lenField(TENSOR_RAW_DATA, raw),
  ]);
}

/** A graph output declaration: the value's name, typed as a float tensor of any shape. */
function floatOutput(name: string): Uint8Array {
  const tensorType = encodeFields([varintField(TENSOR_TYPE_ELEM_TYPE, DATA_TYPE_FLOAT)]);
  return encodeFields([
    lenField(VALUE_INFO_NAME, name),
    lenField(VALUE_INFO_TYPE, encodeFields([lenField(TYPE_TENSOR, tensorType)])),
  ]);
}

/** The model's opset imports with the default domain's version replaced. */
function withOpset(fields: readonly Field[], version: number): Field[] {
  return fields.map((f) => {
    if (f.no !== MODEL_OPSET_IMPORT || f.wire !== LEN) return f;
    const opset = decodeFields(f.value);
    const domain = opset.find((x) => x.no === OPSET_DOMAIN);
    if (domain && stringValue(domain) !== "" && stringValue(domain) !== "ai.onnx") return f;
    const kept = opset.filter((x) => x.no !== OPSET_VERSION);
    return lenField(f.no, encodeFields([...kept, varintField(OPSET_VERSION, version)]));
  });
}

/**
 * The model with the graph's nodes replaced by `graph.nodes` and `graph.added` appended as
 * initialisers; initialisers and Constant nodes that no node reads any more are dropped (ONNX
 * Runtime warns about each one otherwise).
 */
export function encodeModel(graph: OnnxGraph): Uint8Array {
  const read = new Set([...graph.outputs, ...graph.extraOutputs]);
  for (const n of graph.nodes) for (const i of n.inputs) read.add(i);
  const nodes = graph.nodes.filter(
    (n) => n.opType !== "Constant" || n.outputs.some((o) => read.has(o)),
  );
  const graphFields: Field[] = [];
  let nodesWritten = false;
  for (const f of graph.graphFields) {
    if (f.no === GRAPH_NODE) {
      if (!nodesWritten)
        for (const n of nodes) graphFields.push(lenField(GRAPH_NODE, encodeNode(n)));
      nodesWritten = true;
    } else if (f.no === GRAPH_INITIALIZER) {
      const name = decodeFields(f.value).find((x) => x.no === TENSOR_NAME);
      if (!name || read.has(stringValue(name))) graphFields.push(f);
    } else graphFields.push(f);
  }
  for (const [name, t] of graph.added) {
    if (read.has(name)) graphFields.push(lenField(GRAPH_INITIALIZER, encodeTensor(name, t)));
  }
  for (const name of graph.extraOutputs) {
    if (!graph.outputs.has(name)) graphFields.push(lenField(GRAPH_OUTPUT, floatOutput(name)));
  }
  const graphBytes = encodeFields(graphFields);
  const modelFields =
    graph.opset === undefined ? graph.modelFields : withOpset(graph.modelFields, graph.opset);
  return encodeFields(
    modelFields.map((f) =>
      f.no === MODEL_GRAPH && f.wire === LEN ? lenField(f.no, graphBytes) : f,
    ),
  );
}
