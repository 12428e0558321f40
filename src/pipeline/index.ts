export type { PipelineDeps } from "./deps.js";
export {
  checkEditSupported,
  type EditRequest,
  editImages,
} from "./edit.js";
export {
  type GenerateOptions,
  type GenerationRequest,
  type GenerationResult,
  generateImages,
  type OutputFormat,
  type OutputImage,
} from "./generate.js";
export { getGeneration } from "./get-generation.js";
export { type ListedModel, listModels } from "./models.js";
export {
  decodeImageDataUrl,
  type ModerationPart,
  type ModerationResult,
  type MultiModalResult,
  moderateMultiModal,
  moderateTexts,
} from "./moderate.js";
export {
  currentStageObserver,
  observeStages,
  STAGE_NAMES,
  type StageName,
  type StageObserver,
  StageTimer,
  serverTiming,
} from "./stages.js";
export { type VerifyDeps, type VerifyResult, verifyImage } from "./verify.js";
