export type { BackendsFile, ConfiguredBackend } from "./backends-file.js";
export { type BackendConfig, type Config, loadConfig } from "./load.js";
export { COMPACT_MALLOC_TUNABLES } from "./malloc.js";
export { PACKAGE_ROOT } from "./paths.js";
export { parseSize } from "./schema.js";
