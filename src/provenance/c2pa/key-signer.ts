/**
 * Local private keys: PEM parsing (PKCS#8, SEC1 and PKCS#1) and signing with node:crypto.
 * Signing uses the callback form of `crypto.sign`, which runs on libuv's thread pool, so an
 * RSA signature does not hold the event loop.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { HallmarkError } from "../../errors/index.js";
import type { RawSigner } from "./cose-sign.js";
import type { SigningAlg } from "./types.js";

/** Parse a PEM private key; `what` names the file in error messages. */
export function parsePrivateKey(pem: string, what: string): KeyObject {
  if (/ENCRYPTED PRIVATE KEY|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw new HallmarkError(
      "config_error",
      `${what}: encrypted private keys are not supported; store the key unencrypted with mode 0600, or use the remote signer`,
    );
  }
  try {
    return createPrivateKey({ key: pem, format: "pem" });
  } catch (error) {
    throw new HallmarkError(
      "config_error",
      `${what}: not a PEM private key (PKCS#8 "PRIVATE KEY", SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY")`,
      { cause: error },
    );
  }
}

/** The COSE algorithm a key signs with: P-256 → ES256, P-384 → ES384, RSA → PS256, Ed25519. */
export function algForKey(key: KeyObject): SigningAlg | null {
  const type = key.asymmetricKeyType;
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "prime256v1" || curve === "P-256") return "ES256";
    if (curve === "secp384r1" || curve === "P-384") return "ES384";
    return null;
  }
  if (type === "rsa" || type === "rsa-pss") {
    return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048 ? "PS256" : null;
  }
  if (type === "ed25519") return "Ed25519";
  return null;
}

/** DER SubjectPublicKeyInfo of a private or public key. */
export function spkiOf(key: KeyObject): Buffer {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return pub.export({ type: "spki", format: "der" });
}

function nodeParams(alg: SigningAlg): { digest: string | null; options: object } {
  switch (alg) {
    case "ES256":
      return { digest: "sha256", options: { dsaEncoding: "ieee-p1363" } };
    case "ES384":
      return { digest: "sha384", options: { dsaEncoding: "ieee-p1363" } };
    case "PS256":
      return {
        digest: "sha256",
        options: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      };
    case "Ed25519":
      return { digest: null, options: {} };
  }
}

/** Verify a signature made by `alg` (used for start-up self-tests and remote signers). */
export function verifySignature(
  alg: SigningAlg,
  publicKey: KeyObject,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const { digest, options } = nodeParams(alg);
  return nodeVerify(digest, message, { key: publicKey, ...options }, signature);
}

/** A RawSigner over a local private key. */
export function createKeySigner(alg: SigningAlg, key: KeyObject): RawSigner {
  const { digest, options } = nodeParams(alg);
  return {
    alg,
    sign(message) {
      return new Promise((resolve, reject) => {
        nodeSign(digest, message, { key, ...options }, (error, signature) => {
          if (error) reject(new HallmarkError("signing_failed", error.message, { cause: error }));
          else resolve(new Uint8Array(signature));
        });
      });
    },
  };
}
