export { type Config, loadConfig } from "./load.js";
export { parseSize } from "./schema.js";
