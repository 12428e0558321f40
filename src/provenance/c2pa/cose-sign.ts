/**
 * COSE_Sign1 for C2PA claim signatures, built by Hallmark (c2pa-wasm's "direct COSE handling").
 *
 * The wasm signer hands us the claim bytes and expects the complete tagged COSE_Sign1
 * (RFC 9052 §4.2), exactly `reserveSize` bytes long, as C2PA §14.2 ("Digital signatures")
 * describes it:
 * - protected: `{1: alg, 33: x5chain}` (RFC 9360: one certificate as a byte string, several
 *   as an array, end-entity first);
 * - payload: nil (detached, the claim is the payload);
 * - signature over the Sig_structure `["Signature1", protected, h'', claim]`; ECDSA in the
 *   IEEE P1363 form r‖s;
 * - unprotected: optional `sigTst2` (C2PA §10.3.2.5, a v2 time-stamp: an RFC 3161 token over
 *   the CounterSignature structure of the signature), then `pad` bytes that bring the
 *   encoding to exactly `reserveSize` (any other size moves the manifest and breaks the hash).
 */
import { Encoder, Tag } from "cbor-x";
import { HallmarkError } from "../../errors/index.js";
import type { SigningAlg } from "./types.js";

/** cbor-x tags Uint8Array with tag 64 by default; c2pa-rs (coset) then cannot parse headers. */
const cbor = new Encoder({
  tagUint8Array: false,
  useRecords: false,
  mapsAsObjects: false,
  variableMapSize: true,
});

export function encodeCbor(value: unknown): Uint8Array {
  // Copy: cbor-x returns a view into a buffer it reuses.
  return new Uint8Array(cbor.encode(value));
}

/** COSE algorithm identifiers (IANA "COSE Algorithms"). */
export const COSE_ALG: Record<SigningAlg, number> = {
  ES256: -7,
  ES384: -35,
  PS256: -37,
  Ed25519: -8,
};

/** The `alg` string c2pa-wasm's SignerDefinition wants. */
export const WASM_ALG: Record<SigningAlg, string> = {
  ES256: "es256",
  ES384: "es384",
  PS256: "ps256",
  Ed25519: "ed25519",
};

/** Signs bytes with the signer's private key: a local key or a remote KMS/HSM front. */
export interface RawSigner {
  readonly alg: SigningAlg;
  /** Returns the raw signature of `message` (ECDSA as IEEE P1363 r‖s). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Obtains an RFC 3161 TimeStampToken (DER ContentInfo) for a message. */
export interface TimeStamper {
  stamp(message: Uint8Array): Promise<Uint8Array>;
}

const X5CHAIN = 33;

export function protectedHeader(alg: SigningAlg, chainDer: readonly Uint8Array[]): Uint8Array {
  const x5chain = chainDer.length === 1 ? chainDer[0] : [...chainDer];
  return encodeCbor(
    new Map<number, unknown>([
      [1, COSE_ALG[alg]],
      [X5CHAIN, x5chain],
    ]),
  );
}

/** `["Signature1", protected, h'', payload]` (RFC 9052 §4.4). */
export function sigStructure(protectedBytes: Uint8Array, payload: Uint8Array): Uint8Array {
  return encodeCbor(["Signature1", protectedBytes, new Uint8Array(0), payload]);
}

/**
 * What a v2 time-stamp covers: `["CounterSignature", protected, h'', bstr(signature)]`, as
 * c2pa-rs builds it for `sigTst2` (the signature's CBOR encoding is the payload).
 */
export function countersignStructure(
  protectedBytes: Uint8Array,
  signature: Uint8Array,
): Uint8Array {
  return encodeCbor(["CounterSignature", protectedBytes, new Uint8Array(0), encodeCbor(signature)]);
}

function encodeSign1(
  protectedBytes: Uint8Array,
  unprotected: Map<string, unknown>,
  signature: Uint8Array,
): Uint8Array {
  return encodeCbor(new Tag([protectedBytes, unprotected, null, signature], 18));
}

/**
 * Assemble the COSE_Sign1 with `pad` (and, when a size is unreachable with one pad because a
 * CBOR length prefix grows by two bytes at once, `pad2`) so that it is exactly `reserveSize`.
 */
export function padToSize(
  protectedBytes: Uint8Array,
  headers: ReadonlyArray<[string, unknown]>,
  signature: Uint8Array,
  reserveSize: number,
): Uint8Array {
  for (const extra of [null, new Uint8Array(0)]) {
    const build = (padLength: number) => {
      const unprotected = new Map<string, unknown>(headers);
      unprotected.set("pad", new Uint8Array(padLength));
      if (extra) unprotected.set("pad2", extra);
      return encodeSign1(protectedBytes, unprotected, signature);
    };
    const bare = build(0).byteLength;
    if (bare > reserveSize) break;
    let guess = reserveSize - bare;
    for (let i = 0; i < 4 && guess >= 0; i++) {
      const out = build(guess);
      if (out.byteLength === reserveSize) return out;
      guess -= out.byteLength - reserveSize;
    }
  }
  throw new HallmarkError(
    "signing_failed",
    `the COSE signature does not fit in the ${reserveSize} bytes reserved for it (certificate chain or time-stamp too large)`,
  );
}

export interface CoseSignOptions {
  signer: RawSigner;
  chainDer: readonly Uint8Array[];
  reserveSize: number;
  timeStamper?: TimeStamper;
  /** With a TSA configured: true makes a failed time-stamp fail the signature. */
  timeStampRequired?: boolean;
  /** Called when a time-stamp could not be obtained and unstamped output is allowed. */
  onTimeStampFailure?: (error: unknown) => void;
}

/**
 * Sign `claim` and return the complete tagged COSE_Sign1 of exactly `reserveSize` bytes, and
 * whether it carries a time-stamp.
 */
export async function signClaim(
  claim: Uint8Array,
  options: CoseSignOptions,
): Promise<{ cose: Uint8Array; timeStamped: boolean }> {
  const { signer, chainDer, reserveSize } = options;
  const protectedBytes = protectedHeader(signer.alg, chainDer);
  const signature = await signer.sign(sigStructure(protectedBytes, claim));
  const headers: Array<[string, unknown]> = [];
  let timeStamped = false;
  if (options.timeStamper) {
    try {
      const token = await options.timeStamper.stamp(
        countersignStructure(protectedBytes, signature),
      );
      headers.push(["sigTst2", new Map([["tstTokens", [new Map([["val", token]])]]])]);
      timeStamped = true;
    } catch (error) {
      if (options.timeStampRequired !== false) {
        throw error instanceof HallmarkError
          ? error
          : new HallmarkError("signing_failed", `time-stamp failed: ${String(error)}`, {
              cause: error,
            });
      }
      options.onTimeStampFailure?.(error);
    }
  }
  return { cose: padToSize(protectedBytes, headers, signature, reserveSize), timeStamped };
}
