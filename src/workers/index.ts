export {
  type CpuPool,
  type CpuPoolOptions,
  createCpuPool,
  type PooledWatermarker,
} from "./pool.js";
