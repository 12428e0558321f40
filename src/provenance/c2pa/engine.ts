/**
 * Loading the c2pa-rs core (compiled to WebAssembly in @contentauth/c2pa-wasm) into Node.
 *
 * Process-wide state, and why: the wasm-bindgen glue in @contentauth/c2pa-wasm keeps the
 * instantiated module in a variable of its own ES module, so there is exactly one engine per
 * JavaScript realm (process or worker thread) whatever we do. `WasmBuilder.sign` also reads its
 * source through the browser-only global `FileReaderSync`, which Node lacks, so we install a
 * shim on `globalThis`. These two are the only module-level effects in src/provenance/c2pa; both
 * are forced by the wasm package, both are idempotent, and everything else is constructed by
 * `createC2pa` with explicit dependencies. See ../shared/design/c2pa-in-node.md.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { initSync, WasmBuilder, WasmReader } from "@contentauth/c2pa-wasm";

export { WasmBuilder, WasmReader };

/** The c2pa-wasm package version this module was written and pinned against (golden tests). */
export const ENGINE_PACKAGE = "@contentauth/c2pa-wasm";

const BYTES = Symbol("hallmark.syncBlobBytes");

/**
 * A `Blob` look-alike whose bytes (and those of its slices) are reachable synchronously, which
 * is what c2pa-wasm's `FileReaderSync` reads need. The wasm glue only calls `size` and `slice`.
 */
export class SyncBlob {
  readonly [BYTES]: Uint8Array;
  constructor(bytes: Uint8Array) {
    this[BYTES] = bytes;
  }
  get size(): number {
    return this[BYTES].byteLength;
  }
  slice(start = 0, end = this[BYTES].byteLength): SyncBlob {
    return new SyncBlob(this[BYTES].subarray(start, end));
  }
  /** Typed as a DOM `Blob` for the wasm API; it is only ever read by the shim below. */
  asBlob(): Blob {
    return this as unknown as Blob;
  }
}

class FileReaderSyncShim {
  readAsArrayBuffer(blob: unknown): ArrayBuffer {
    if (!(blob instanceof SyncBlob)) {
      throw new TypeError("FileReaderSync shim: only Hallmark SyncBlob sources can be read");
    }
    const bytes = blob[BYTES];
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
}

let initialised = false;

/** The version of the installed @contentauth/c2pa-wasm package. */
export function enginePackageVersion(): string {
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve(`${ENGINE_PACKAGE}/package.json`), "utf8"));
  return String(pkg.version);
}

/**
 * Instantiate the wasm engine once per realm (idempotent; about 50 ms the first time).
 * Synchronous on purpose: `initSync` compiles from bytes without fetch.
 */
export function ensureEngine(): void {
  if (initialised) return;
  const g = globalThis as { FileReaderSync?: unknown };
  if (g.FileReaderSync !== FileReaderSyncShim) g.FileReaderSync = FileReaderSyncShim;
  const require = createRequire(import.meta.url);
  const wasmPath = require.resolve(`${ENGINE_PACKAGE}/c2pa.wasm`);
  initSync({ module: readFileSync(wasmPath) });
  initialised = true;
}
