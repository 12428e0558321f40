export { type Automatic1111Options, createAutomatic1111Generator } from "./automatic1111.js";
export {
  type BreakerGenerator,
  type CircuitBreakerOptions,
  type CircuitState,
  withCircuitBreaker,
} from "./circuit-breaker.js";
export { type ComfyUIOptions, createComfyUIGenerator } from "./comfyui.js";
export {
  type ComfyWorkflow,
  DEFAULT_COMFYUI_EDIT_WORKFLOW_PATH,
  DEFAULT_COMFYUI_WORKFLOW_PATH,
  fillComfyWorkflow,
  loadComfyWorkflow,
  parseComfyWorkflow,
} from "./comfyui-workflow.js";
export {
  createEmbeddedGenerator,
  EMBEDDED_MODEL,
  type EmbeddedGeneratorOptions,
} from "./embedded.js";
export { type FakeAutomatic1111, startFakeAutomatic1111 } from "./fake-automatic1111.js";
export { type FakeComfyUI, startFakeComfyUI } from "./fake-comfyui.js";
export { type FakeOpenAIImages, startFakeOpenAIImages } from "./fake-openai-images.js";
export { createLimiter, type Limiter, type LimiterOptions } from "./limiter.js";
export {
  createOnnxSdGenerator,
  type GeneratorCapabilities,
  type OnnxSdGenerator,
  type OnnxSdGeneratorOptions,
  SAMPLERS,
  type SamplerName,
} from "./onnx-sd/index.js";
export { createOpenAIImagesGenerator, type OpenAIImagesOptions } from "./openai-images.js";
export {
  createPlaceholderGenerator,
  PLACEHOLDER_MODEL,
  PLACEHOLDER_VERSION,
} from "./placeholder.js";
export { type RetryOptions, withRetries } from "./retry.js";
export {
  backendFor,
  createRoutingGenerator,
  type RoutedBackend,
  type RoutingGenerator,
  servedModels,
} from "./router.js";
export type {
  EditCapabilities,
  EditInput,
  GeneratedImage,
  GenerateInput,
  GenerateOutput,
  GenerateProgress,
  Generator,
} from "./types.js";
