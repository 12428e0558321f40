/**
 * The remote signer: a KMS or HSM front that holds the private key and signs a digest.
 *
 * Protocol (docs/c2pa.md, "Remote signer"):
 *
 *   POST <url>
 *   Content-Type: application/json
 *   Authorization: Bearer <token>            (when a token is configured)
 *   {"key_id": "<keyId or null>", "alg": "ES256", "digest_alg": "SHA-256", "digest": "<base64>"}
 *
 *   200 {"signature": "<base64>"}
 *
 * `digest` is the hash (SHA-256 for ES256 and PS256, SHA-384 for ES384) of the COSE
 * Sig_structure. The signature is ECDSA (IEEE P1363 r‖s, or DER as AWS/GCP KMS return it) or
 * RSASSA-PSS (MGF1 with the same hash, salt length 32). Ed25519 is not offered remotely: pure
 * EdDSA signs the message itself, not a digest. Every signature is verified against the
 * certificate's public key before it is embedded.
 */
import { createHash, type KeyObject } from "node:crypto";
import { z } from "zod";
import { HallmarkError } from "../../errors/index.js";
import type { RawSigner } from "./cose-sign.js";
import { verifySignature } from "./key-signer.js";
import type { SigningAlg } from "./types.js";

export interface RemoteSignerConfig {
  /** Endpoint that signs digests. */
  url: string;
  /** Bearer token sent in `Authorization`, if the signer wants one. */
  token?: string;
  /** Opaque key name passed through as `key_id`. */
  keyId?: string;
  /** Per-request time limit in milliseconds (default 10 000). */
  timeoutMs?: number;
}

const responseSchema = z.object({ signature: z.string().min(1).max(4096) });
const MAX_RESPONSE_BYTES = 64 * 1024;

export const REMOTE_DIGEST: Record<Exclude<SigningAlg, "Ed25519">, "SHA-256" | "SHA-384"> = {
  ES256: "SHA-256",
  ES384: "SHA-384",
  PS256: "SHA-256",
};

/** Convert an ECDSA signature from DER (SEQUENCE of two INTEGERs) to P1363 r‖s. */
export function derToP1363(der: Uint8Array, size: number): Uint8Array | null {
  let p = 0;
  const readLength = (): number | null => {
    const first = der[p++];
    if (first === undefined) return null;
    if (first < 0x80) return first;
    const n = first & 0x7f;
    if (n < 1 || n > 2) return null;
    let len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | (der[p++] ?? 0);
    return len;
  };
  if (der[p++] !== 0x30) return null;
  const seqLen = readLength();
  if (seqLen === null || p + seqLen !== der.length) return null;
  const out = new Uint8Array(size * 2);
  for (let k = 0; k < 2; k++) {
    if (der[p++] !== 0x02) return null;
    const len = readLength();
    if (len === null || p + len > der.length) return null;
    let int = der.subarray(p, p + len);
    p += len;
    while (int.length > 0 && int[0] === 0) int = int.subarray(1);
    if (int.length > size) return null;
    out.set(int, k * size + (size - int.length));
  }
  return p === der.length ? out : null;
}

/**
 * A RawSigner that asks the remote signer for each signature.
 * @example createRemoteSigner({ url: "http://kms-front:8700/sign", token }, "ES256", certKey)
 */
export function createRemoteSigner(
  config: RemoteSignerConfig,
  alg: SigningAlg,
  publicKey: KeyObject,
): RawSigner {
  if (alg === "Ed25519") {
    throw new HallmarkError(
      "config_error",
      "remote signer: Ed25519 cannot sign a digest; use ES256, ES384 or PS256 with a remote signer",
    );
  }
  const digestAlg = REMOTE_DIGEST[alg];
  const p1363Size = alg === "ES384" ? 48 : 32;
  return {
    alg,
    async sign(message) {
      const digest = createHash(digestAlg === "SHA-256" ? "sha256" : "sha384")
        .update(message)
        .digest();
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (config.token) headers.authorization = `Bearer ${config.token}`;
      let response: Response;
      try {
        response = await fetch(config.url, {
          method: "POST",
          headers,
          body: JSON.stringify({
            key_id: config.keyId ?? null,
            alg,
            digest_alg: digestAlg,
            digest: digest.toString("base64"),
          }),
          signal: AbortSignal.timeout(config.timeoutMs ?? 10_000),
          redirect: "error",
        });
      } catch (error) {
        throw new HallmarkError("signing_failed", `remote signer unreachable: ${String(error)}`, {
          cause: error,
        });
      }
      const body = new Uint8Array(await response.arrayBuffer());
      if (!response.ok) {
        throw new HallmarkError("signing_failed", `remote signer answered HTTP ${response.status}`);
      }
      if (body.byteLength > MAX_RESPONSE_BYTES) {
        throw new HallmarkError("signing_failed", "remote signer answer too large");
      }
      let parsed: z.infer<typeof responseSchema>;
      try {
        parsed = responseSchema.parse(JSON.parse(new TextDecoder().decode(body)));
      } catch (error) {
        throw new HallmarkError("signing_failed", "remote signer answer is not {signature}", {
          cause: error,
        });
      }
      let signature: Uint8Array = Buffer.from(parsed.signature, "base64");
      if (alg !== "PS256" && signature.length !== p1363Size * 2) {
        signature = derToP1363(signature, p1363Size) ?? signature;
      }
      if (!verifySignature(alg, publicKey, message, signature)) {
        throw new HallmarkError(
          "signing_failed",
          "remote signer returned a signature that does not verify with the configured certificate",
        );
      }
      return signature;
    },
  };
}
