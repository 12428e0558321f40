export { collectGarbage } from "./collect-garbage.js";
export {
  type ClassifyAnswer,
  createPooledImageClassifier,
  type PooledClassifierOptions,
} from "./image-classifier.js";
export {
  type CpuPool,
  type CpuPoolOptions,
  createCpuPool,
  type PooledWatermarker,
} from "./pool.js";
