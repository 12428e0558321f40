export {
  createRuntime,
  openConfiguredDatabase,
  type Runtime,
  type RuntimeOptions,
  VERSION,
} from "./create-runtime.js";
