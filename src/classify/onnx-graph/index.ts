/**
 * ONNX graph rewrites applied when a model is loaded (the bytes in node_modules stay as shipped):
 * see fuse-activations.ts for what is rewritten and why.
 */
export { type FuseReport, fuseActivations } from "./fuse-activations.js";
export { ProtobufError } from "./protobuf.js";
export { createFusedSession } from "./session.js";
