import canonicalize from "canonicalize";
import { HallmarkError } from "../../errors/index.js";
import { leafHash } from "./hash.js";

/**
 * Entry bytes: the JSON Canonicalization Scheme, RFC 8785
 * (https://www.rfc-editor.org/rfc/rfc8785), via the `canonicalize` package. JCS needs I-JSON
 * input; `canonicalize` itself rejects NaN, ±Infinity, lone surrogates and cycles, and this
 * wrapper also rejects what JSON cannot hold (BigInt, functions, symbols, undefined array
 * elements) instead of letting them turn into `null` or vanish.
 */

function reject(message: string, path: string): never {
  throw new HallmarkError(
    "invalid_request_error",
    `not canonical JSON data at ${path}: ${message}`,
    {
      details: { path },
    },
  );
}

function check(value: unknown, path: string, depth: number): void {
  if (depth > 256) reject("nested too deeply (or cyclic)", path);
  if (value === null || typeof value === "boolean" || typeof value === "string") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) reject("NaN and Infinity are not JSON", path);
    return;
  }
  if (typeof value !== "object") reject(`a ${typeof value} is not JSON`, path);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    check(toJSON.call(value), path, depth + 1);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (item === undefined) reject("undefined array element", `${path}[${i}]`);
      check(item, `${path}[${i}]`, depth + 1);
    });
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) reject("not a plain object or array", path);
  for (const [key, item] of Object.entries(value)) {
    // Members set to undefined are dropped, as JSON.stringify drops them.
    if (item !== undefined) check(item, `${path}.${key}`, depth + 1);
  }
}

/**
 * The RFC 8785 canonical JSON text of a value. Throws
 * `HallmarkError("invalid_request_error")` for values JSON cannot represent exactly.
 *
 * @example canonicalJson({ b: 1, a: [4.5, "€"] }) // '{"a":[4.5,"€"],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  check(value, "$", 0);
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    reject(error instanceof Error ? error.message : String(error), "$");
  }
  if (text === undefined) reject("no JSON text", "$");
  return text;
}

/** The entry bytes: UTF-8 of `canonicalJson(value)`. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

/** The `leaf hash` of a log entry: leafHash(canonicalJsonBytes(entry)). */
export function entryLeafHash(entry: unknown): Uint8Array {
  return leafHash(canonicalJsonBytes(entry));
}

/**
 * Whether bytes are already the canonical form of the JSON they hold (so an entry served
 * over HTTP was stored as written, not re-serialized).
 */
export function isCanonicalJson(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    return canonicalJson(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}
