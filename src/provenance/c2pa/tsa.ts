/**
 * RFC 3161 time-stamp client (the Time-Stamp Protocol over HTTP, RFC 3161 §3.4).
 *
 * Sends a TimeStampReq for the SHA-256 of a message, with a fresh nonce and certReq, and
 * returns the TimeStampToken (the DER ContentInfo), which C2PA v2 stores in the COSE header
 * `sigTst2`. The reply is checked before use: status granted, token present, message imprint
 * and nonce equal to what was asked. A TSA that answers anything else is a failure, never a
 * silently missing time-stamp.
 */
import { createHash, randomBytes } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { HallmarkError } from "../../errors/index.js";
import type { TimeStamper } from "./cose-sign.js";
import { positiveDerInteger } from "./der-integer.js";

export interface TsaConfig {
  /** TSA endpoint (RFC 3161 over HTTP). */
  url: string;
  /** When true (the default), a failed time-stamp fails the signature (`signing_failed`). */
  required?: boolean;
  /** Per-request time limit in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** PEM bundle of TSA trust anchors, kept apart from signer anchors (used by `read`). */
  trustAnchorsPem?: string;
}

const SHA256_OID = "2.16.840.1.101.3.4.2.1";
const TST_INFO_OID = "1.2.840.113549.1.9.16.1.4";
const MAX_REPLY_BYTES = 256 * 1024;

function fail(message: string, cause?: unknown): never {
  throw new HallmarkError("signing_failed", `time-stamp authority: ${message}`, { cause });
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Build the DER TimeStampReq for a SHA-256 digest. */
export function buildTimeStampRequest(
  digest: Uint8Array,
  nonce: Uint8Array,
): Uint8Array<ArrayBuffer> {
  const request = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: SHA256_OID }),
      hashedMessage: new asn1js.OctetString({ valueHex: toArrayBuffer(digest) }),
    }),
    nonce: new asn1js.Integer({ valueHex: toArrayBuffer(nonce) }),
    certReq: true,
  });
  return new Uint8Array(request.toSchema().toBER(false));
}

/**
 * Check a TimeStampResp against the digest and nonce that were asked for, and return its
 * TimeStampToken as DER.
 */
export function tokenFromResponse(
  reply: Uint8Array,
  digest: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  let response: pkijs.TimeStampResp;
  try {
    response = pkijs.TimeStampResp.fromBER(toArrayBuffer(reply));
  } catch (error) {
    fail("the reply is not a TimeStampResp", error);
  }
  const status = response.status.status;
  if (status !== 0 && status !== 1) fail(`request rejected (PKIStatus ${status})`);
  const token = response.timeStampToken;
  if (!token) fail("the reply has no time-stamp token");
  let info: pkijs.TSTInfo;
  try {
    const signed = new pkijs.SignedData({ schema: token.content });
    if (signed.encapContentInfo.eContentType !== TST_INFO_OID) fail("token is not a TSTInfo");
    const content = signed.encapContentInfo.eContent;
    if (!content) fail("token has no TSTInfo");
    info = pkijs.TSTInfo.fromBER(content.getValue());
  } catch (error) {
    if (error instanceof HallmarkError) throw error;
    fail("the token cannot be parsed", error);
  }
  const imprint = new Uint8Array(info.messageImprint.hashedMessage.getValue());
  if (
    info.messageImprint.hashAlgorithm.algorithmId !== SHA256_OID ||
    Buffer.compare(Buffer.from(imprint), Buffer.from(digest)) !== 0
  ) {
    fail("the token covers a different message");
  }
  const tokenNonce = info.nonce ? new Uint8Array(info.nonce.valueBlock.valueHexView) : null;
  if (
    !tokenNonce ||
    BigInt(`0x${Buffer.from(tokenNonce).toString("hex") || "0"}`) !==
      BigInt(`0x${Buffer.from(nonce).toString("hex")}`)
  ) {
    fail("the token's nonce does not match the request");
  }
  return new Uint8Array(token.toSchema().toBER(false));
}

/** A TimeStamper that asks the configured TSA over HTTP. */
export function createTsaClient(config: TsaConfig): TimeStamper {
  return {
    async stamp(message) {
      const digest = createHash("sha256").update(message).digest();
      const nonce = positiveDerInteger(randomBytes(8));
      let reply: Uint8Array;
      try {
        const response = await fetch(config.url, {
          method: "POST",
          headers: { "content-type": "application/timestamp-query" },
          body: buildTimeStampRequest(digest, nonce),
          signal: AbortSignal.timeout(config.timeoutMs ?? 10_000),
          redirect: "error",
        });
        reply = new Uint8Array(await response.arrayBuffer());
        if (!response.ok) fail(`${config.url} answered HTTP ${response.status}`);
      } catch (error) {
        if (error instanceof HallmarkError) throw error;
        fail(`${config.url} unreachable: ${String(error)}`, error);
      }
      if (reply.byteLength > MAX_REPLY_BYTES) fail("reply too large");
      return tokenFromResponse(reply, digest, nonce);
    },
  };
}
