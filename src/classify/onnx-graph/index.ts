/**
 * ONNX graph rewrites applied when a model is loaded (the bytes in node_modules stay as shipped):
 * see fuse-activations.ts for what is rewritten and why.
 */
export { type FuseReport, fuseActivations } from "./fuse-activations.js";
export { encodeModel } from "./model.js";
export { ProtobufError } from "./protobuf.js";
export {
  type ActivationRanges,
  calibrationTensors,
  prepareForQuantisation,
  QuantiseError,
  type QuantiseOptions,
  type QuantiseReport,
  quantiseStatic,
} from "./quantize.js";
export { createFusedSession } from "./session.js";
