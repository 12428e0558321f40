export {
  BOS_TOKEN,
  bytesToUnicode,
  type ClipTokenizer,
  createClipTokenizer,
  EOS_TOKEN,
  loadClipTokenizer,
} from "./clip-tokenizer.js";
export {
  createOnnxSdGenerator,
  type GeneratorCapabilities,
  type OnnxSdGenerator,
  type OnnxSdGeneratorOptions,
} from "./generator.js";
export { loadOnnxSdOnThread } from "./on-thread.js";
export {
  type LoadOptions,
  loadOnnxSd,
  type OnnxSdModel,
  type SdImage,
  type SdRequest,
} from "./pipeline.js";
export { createGaussian, type Gaussian } from "./random.js";
export {
  alphasCumprod,
  createSampler,
  inferenceTimesteps,
  parseSchedulerConfig,
  SAMPLERS,
  type Sampler,
  type SamplerName,
  type SchedulerConfig,
  SD_SCHEDULER,
} from "./schedulers.js";
