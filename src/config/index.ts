export { type Config, loadConfig } from "./load.js";
export { PACKAGE_ROOT } from "./paths.js";
export { parseSize } from "./schema.js";
