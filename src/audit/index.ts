export { findImagesByMarkId, findImagesNearPdq } from "./lookup.js";
export { type PromptRetention, promptAudit, sha256Hex } from "./prompt-audit.js";
export {
  findGeneration,
  findImagesBySha256,
  type GenerationRecord,
  type GenerationRow,
  type ImageRecord,
  type ImageRow,
  recordGeneration,
  type StageRecord,
} from "./record.js";
export {
  createRecorder,
  type Recorder,
  type RecorderOptions,
  type Seal,
  type Sealed,
} from "./recorder.js";
