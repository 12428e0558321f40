/**
 * Test support (not part of the public surface): loopback servers that stand in for the real
 * services Hallmark talks to, built from real cryptography.
 * - an RFC 3161 time-stamp authority built with pkijs;
 * - a remote signer that signs digests with ECDSA P-256, computed here from the private
 *   scalar, because node:crypto cannot sign a pre-computed digest (a KMS can).
 */
import "reflect-metadata";
import { createHash, type KeyObject, randomBytes, webcrypto } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateSync, inflateSync } from "node:zlib";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import sharp from "sharp";
import { createCa, generateKey, type IssuedKey, issueSigner } from "./dev-ca.js";

const wc = webcrypto as unknown as Crypto;

export interface Loopback {
  url: string;
  requests: number;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function listen(server: Server, path: string): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}${path}`;
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

function ab(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export type TsaMode = "ok" | "http-error" | "rejection" | "wrong-imprint" | "hang";

/** A TSA: a CA, a time-stamping certificate (EKU timeStamping) and its key. */
export async function createTsaIdentity(
  validity: { notBefore?: Date; notAfter?: Date } = {},
): Promise<{ ca: IssuedKey; tsa: IssuedKey }> {
  const ca = await createCa({
    subject: "CN=Hallmark Test TSA Root, O=Hallmark tests",
    ...validity,
  });
  const key = generateKey("ES256");
  const tsa = await issueSigner(ca, {
    key,
    subject: "CN=Hallmark Test TSA, O=Hallmark tests",
    ekus: ["1.3.6.1.5.5.7.3.8"],
    ...validity,
  });
  return { ca, tsa };
}

/** An RFC 3161 TSA on loopback. `mode` chooses how it misbehaves. */
export async function startTsa(
  identity: { tsa: IssuedKey },
  options: { mode?: TsaMode } = {},
): Promise<Loopback & { mode: TsaMode }> {
  const der = identity.tsa.key.export({ type: "pkcs8", format: "der" });
  const signingKey = await wc.subtle.importKey(
    "pkcs8",
    der,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const tsaCert = pkijs.Certificate.fromBER(identity.tsa.cert.rawData);
  const state = { requests: 0, mode: options.mode ?? "ok" };
  const server = createServer(async (req, res) => {
    state.requests++;
    const raw = await body(req);
    if (state.mode === "hang") return; // never answers
    if (state.mode === "http-error") {
      res.writeHead(503).end("unavailable");
      return;
    }
    const request = pkijs.TimeStampReq.fromBER(ab(raw));
    if (state.mode === "rejection") {
      const rejected = new pkijs.TimeStampResp({
        status: new pkijs.PKIStatusInfo({ status: pkijs.PKIStatus.rejection }),
      });
      res.writeHead(200, { "content-type": "application/timestamp-reply" });
      res.end(Buffer.from(rejected.toSchema().toBER(false)));
      return;
    }
    const imprint = request.messageImprint;
    if (state.mode === "wrong-imprint") {
      imprint.hashedMessage = new asn1js.OctetString({ valueHex: ab(randomBytes(32)) });
    }
    const info = new pkijs.TSTInfo({
      version: 1,
      policy: "1.3.6.1.4.1.99999.1",
      messageImprint: imprint,
      serialNumber: new asn1js.Integer({ value: state.requests }),
      // DER: whole seconds (no fraction) and no DEFAULT-valued `ordering`.
      genTime: new Date(Math.floor(Date.now() / 1000) * 1000),
      nonce: request.nonce,
    });
    const infoDer = new Uint8Array(info.toSchema().toBER(false));
    const signed = new pkijs.SignedData({
      version: 3,
      encapContentInfo: new pkijs.EncapsulatedContentInfo({
        eContentType: "1.2.840.113549.1.9.16.1.4",
        eContent: new asn1js.OctetString({ valueHex: ab(infoDer) }),
      }),
      signerInfos: [
        new pkijs.SignerInfo({
          version: 1,
          sid: new pkijs.IssuerAndSerialNumber({
            issuer: tsaCert.issuer,
            serialNumber: tsaCert.serialNumber,
          }),
          signedAttrs: new pkijs.SignedAndUnsignedAttributes({
            type: 0,
            attributes: [
              new pkijs.Attribute({
                type: "1.2.840.113549.1.9.3",
                values: [new asn1js.ObjectIdentifier({ value: "1.2.840.113549.1.9.16.1.4" })],
              }),
              new pkijs.Attribute({
                type: "1.2.840.113549.1.9.4",
                values: [
                  new asn1js.OctetString({
                    valueHex: ab(createHash("sha256").update(infoDer).digest()),
                  }),
                ],
              }),
            ],
          }),
        }),
      ],
      certificates: [tsaCert],
    });
    // pkijs splits eContent into a constructed OCTET STRING (BER); c2pa-rs decodes DER only.
    signed.encapContentInfo.eContent = new asn1js.OctetString({ valueHex: ab(infoDer) });
    await signed.sign(signingKey, 0, "SHA-256");
    const response = new pkijs.TimeStampResp({
      status: new pkijs.PKIStatusInfo({ status: pkijs.PKIStatus.granted }),
      timeStampToken: new pkijs.ContentInfo({
        contentType: "1.2.840.113549.1.7.2",
        content: signed.toSchema(true),
      }),
    });
    res.writeHead(200, { "content-type": "application/timestamp-reply" });
    res.end(Buffer.from(response.toSchema().toBER(false)));
  });
  const url = await listen(server, "/tsa");
  return {
    url,
    get requests() {
      return state.requests;
    },
    get mode() {
      return state.mode;
    },
    set mode(m: TsaMode) {
      state.mode = m;
    },
    close: closer(server),
  };
}

// --- ECDSA P-256 over a digest (FIPS 186-4 §6.4), for the remote-signer stand-in ---

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G: [bigint, bigint] = [
  0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
];

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function inv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}
type Point = [bigint, bigint] | null;
function add(a: Point, b: Point): Point {
  if (!a) return b;
  if (!b) return a;
  if (a[0] === b[0] && mod(a[1] + b[1], P) === 0n) return null;
  const l =
    a[0] === b[0] && a[1] === b[1]
      ? mod((3n * a[0] * a[0] - 3n) * inv(2n * a[1], P), P)
      : mod((b[1] - a[1]) * inv(b[0] - a[0], P), P);
  const x = mod(l * l - a[0] - b[0], P);
  return [x, mod(l * (a[0] - x) - a[1], P)];
}
function mul(k: bigint, point: Point): Point {
  let result: Point = null;
  let addend = point;
  while (k > 0n) {
    if (k & 1n) result = add(result, addend);
    addend = add(addend, addend);
    k >>= 1n;
  }
  return result;
}
const toBig = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`);
const toBytes = (v: bigint) => Buffer.from(v.toString(16).padStart(64, "0"), "hex");

/** ECDSA P-256 signature (r‖s) of a SHA-256 digest with `key`. */
export function signDigestP256(key: KeyObject, digest: Uint8Array): Uint8Array {
  const jwk = key.export({ format: "jwk" });
  const d = toBig(Buffer.from(String(jwk.d), "base64url"));
  const z = toBig(digest);
  for (;;) {
    const k = mod(toBig(randomBytes(40)), N - 1n) + 1n;
    const r = mod(mul(k, G)![0], N);
    const s = mod(inv(k, N) * (z + r * d), N);
    if (r !== 0n && s !== 0n) return Buffer.concat([toBytes(r), toBytes(s)]);
  }
}

function p1363ToDer(sig: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let v = Buffer.from(b);
    while (v.length > 1 && v[0] === 0 && (v[1] ?? 0) < 0x80) v = v.subarray(1);
    if ((v[0] ?? 0) >= 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const body = Buffer.concat([int(sig.subarray(0, 32)), int(sig.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

export interface RemoteSignerStandIn extends Loopback {
  /** Last request body, parsed. */
  last: Record<string, unknown> | null;
}

/**
 * A remote signer on loopback speaking Hallmark's protocol (docs/c2pa.md). `der` answers in
 * DER as AWS and GCP KMS do; `token` requires that bearer token.
 */
export async function startRemoteSigner(
  key: KeyObject,
  options: { token?: string; der?: boolean; wrongKey?: KeyObject } = {},
): Promise<RemoteSignerStandIn> {
  const state: { requests: number; last: Record<string, unknown> | null } = {
    requests: 0,
    last: null,
  };
  const server = createServer(async (req, res) => {
    state.requests++;
    const raw = await body(req);
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401).end();
      return;
    }
    const request = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
    state.last = request;
    if (request.alg !== "ES256" || request.digest_alg !== "SHA-256") {
      res.writeHead(400).end();
      return;
    }
    const digest = Buffer.from(String(request.digest), "base64");
    let sig = signDigestP256(options.wrongKey ?? key, digest);
    if (options.der) sig = p1363ToDer(sig);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ signature: Buffer.from(sig).toString("base64") }));
  });
  const url = await listen(server, "/sign");
  return {
    url,
    get requests() {
      return state.requests;
    },
    get last() {
      return state.last;
    },
    close: closer(server),
  };
}

/** A fresh, empty data folder under the OS temp folder. */
export async function tempDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "hallmark-c2pa-"));
}

/** A noise image of the given format and size, made by sharp. */
export async function noiseImage(
  format: "png" | "jpeg" | "webp",
  size = 96,
): Promise<{ bytes: Uint8Array; mediaType: "image/png" | "image/jpeg" | "image/webp" }> {
  const bytes = await sharp({
    create: {
      width: size,
      height: size,
      channels: 3,
      background: "#000000",
      noise: { type: "gaussian", mean: 128, sigma: 40 },
    },
  })
    [format]()
    .toBuffer();
  return { bytes: new Uint8Array(bytes), mediaType: `image/${format}` };
}

/** Rewrite a PNG's pixels (one IDAT) while every other chunk, caBX included, stays byte-equal. */
export function changeOnePngPixel(png: Uint8Array): Uint8Array {
  const buf = Buffer.from(png);
  const chunks: Array<{ type: string; data: Buffer }> = [];
  for (let p = 8; p < buf.length; ) {
    const len = buf.readUInt32BE(p);
    chunks.push({
      type: buf.toString("latin1", p + 4, p + 8),
      data: buf.subarray(p + 8, p + 8 + len),
    });
    p += 12 + len;
  }
  const raw = inflateSync(
    Buffer.concat(chunks.filter((c) => c.type === "IDAT").map((c) => c.data)),
  );
  // Row 0 starts with its filter byte; byte 1 is the red channel of pixel (0,0).
  raw[1] = (raw[1]! + 1) & 0xff;
  const idat = deflateSync(raw);
  const out: Buffer[] = [buf.subarray(0, 8)];
  let wroteIdat = false;
  for (const c of chunks) {
    if (c.type === "IDAT") {
      if (wroteIdat) continue;
      wroteIdat = true;
    }
    const data = c.type === "IDAT" ? idat : c.data;
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(c.type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    out.push(head, data, crc);
  }
  return new Uint8Array(Buffer.concat(out));
}
