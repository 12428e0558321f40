/**
 * C2PA Content Credentials: sign images with a manifest that says they are AI-generated, and
 * read and validate manifests. Engine: c2pa-rs through @contentauth/c2pa-wasm. See docs/c2pa.md.
 */
export { type C2pa, type C2paLog, type C2paOptions, createC2pa, resolveAnchors } from "./c2pa.js";
export { type CredentialsReport, checkCredentials } from "./check.js";
export {
  type Credentials,
  type CredentialsOptions,
  loadCredentials,
  type PortableCredentials,
} from "./credentials.js";
export { DEV_FILES, writeDevCredentials } from "./dev-ca.js";
export { type C2paPool, createC2paPool } from "./pool.js";
export type { RemoteSignerConfig } from "./remote-signer.js";
export type { TsaConfig } from "./tsa.js";
export * from "./types.js";
