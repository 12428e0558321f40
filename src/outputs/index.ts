/**
 * The encrypted output store (docs/async.md): images that are delivered later (asynchronous
 * jobs, review holds, idempotent replays) are kept sealed with AES-256-GCM under a key in the
 * data folder (mode 0600) or a configured file, and deleted after their retention.
 */
export { loadOutputKey, OUTPUT_KEY_FILE, type OutputKey, parseOutputKey } from "./key.js";
export { seal, unseal } from "./seal.js";
export { createOutputStore, type OutputStore, type StoredImage } from "./store.js";
