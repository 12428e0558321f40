export { type Automatic1111Options, createAutomatic1111Generator } from "./automatic1111.js";
export { type FakeAutomatic1111, startFakeAutomatic1111 } from "./fake-automatic1111.js";
export { createLimiter, type Limiter, type LimiterOptions } from "./limiter.js";
export {
  createPlaceholderGenerator,
  PLACEHOLDER_MODEL,
  PLACEHOLDER_VERSION,
} from "./placeholder.js";
export type { GeneratedImage, GenerateInput, GenerateOutput, Generator } from "./types.js";
