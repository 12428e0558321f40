/**
 * Development credentials: a CA and a claim-signer certificate that follow the C2PA signer
 * profile, generated on first start when no credentials are configured (and by
 * `hallmark certs dev`). Subjects say "development" so that nobody mistakes them for
 * production credentials. The same issuing code builds test chains (expired, wrong usage, …).
 */
import {
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  webcrypto,
} from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { positiveDerInteger } from "./der-integer.js";
import type { SigningAlg } from "./types.js";
import * as x509 from "./x509.js";

const wc = webcrypto as unknown as Crypto;

export const DEV_CA_SUBJECT =
  "CN=Hallmark Development CA (not for production), O=Hallmark development";
export const DEV_SIGNER_SUBJECT =
  "CN=Hallmark Development Signer (not for production), O=Hallmark development";

/** File names under `<dataDir>/certs/`. */
export const DEV_FILES = {
  caCert: "dev-ca.pem",
  caKey: "dev-ca.key",
  signerCert: "dev-signer.pem",
  signerKey: "dev-signer.key",
} as const;

export interface IssuedKey {
  key: KeyObject;
  cert: x509.X509Certificate;
}

export function generateKey(alg: SigningAlg): KeyObject {
  switch (alg) {
    case "ES256":
      return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    case "ES384":
      return generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey;
    case "PS256":
      return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    case "Ed25519":
      return generateKeyPairSync("ed25519").privateKey;
  }
}

/** The issuing key as WebCrypto wants it (CA keys are ECDSA P-256 or P-384). */
async function webSigningKey(
  key: KeyObject,
): Promise<{ key: CryptoKey; alg: EcdsaParams & EcKeyImportParams }> {
  const curve = key.asymmetricKeyDetails?.namedCurve === "secp384r1" ? "P-384" : "P-256";
  const alg = { name: "ECDSA", namedCurve: curve, hash: curve === "P-384" ? "SHA-384" : "SHA-256" };
  const der = key.export({ type: "pkcs8", format: "der" });
  return { key: await wc.subtle.importKey("pkcs8", der, alg, false, ["sign"]), alg };
}

function spki(key: KeyObject): ArrayBuffer {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  const der = pub.export({ type: "spki", format: "der" });
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
}

function serial(): string {
  return Buffer.from(positiveDerInteger(randomBytes(16))).toString("hex");
}

export interface CaOptions {
  subject?: string;
  /** Clock for the default validity (tests, reissue at a given time). */
  now?: Date;
  notBefore?: Date;
  notAfter?: Date;
  key?: KeyObject;
}

/** A self-signed CA certificate (ECDSA P-256 unless `key` says otherwise). */
export async function createCa(options: CaOptions = {}): Promise<IssuedKey> {
  const key = options.key ?? generateKey("ES256");
  const publicKey = spki(key);
  const signing = await webSigningKey(key);
  const now = (options.now ?? new Date()).getTime();
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: options.subject ?? DEV_CA_SUBJECT,
      issuer: options.subject ?? DEV_CA_SUBJECT,
      notBefore: options.notBefore ?? new Date(now - 3600_000),
      notAfter: options.notAfter ?? new Date(now + 10 * 365 * 86400_000),
      publicKey,
      signingKey: signing.key,
      signingAlgorithm: signing.alg,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false, wc),
      ],
    },
    wc,
  );
  return { key, cert };
}

export interface SignerOptions {
  alg?: SigningAlg;
  /** Clock for the default validity. */
  now?: Date;
  subject?: string;
  notBefore?: Date;
  notAfter?: Date;
  /** Extended key usages; default emailProtection (C2PA §14.5.1). */
  ekus?: string[];
  /** Key usage flags; default digitalSignature. */
  keyUsage?: number;
  key?: KeyObject;
}

/** An end-entity certificate for claim signing, issued by `ca`. */
export async function issueSigner(ca: IssuedKey, options: SignerOptions = {}): Promise<IssuedKey> {
  const key = options.key ?? generateKey(options.alg ?? "ES256");
  const publicKey = spki(key);
  const signing = await webSigningKey(ca.key);
  const now = (options.now ?? new Date()).getTime();
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: options.subject ?? DEV_SIGNER_SUBJECT,
      issuer: ca.cert.subject,
      notBefore: options.notBefore ?? new Date(now - 3600_000),
      notAfter: options.notAfter ?? new Date(now + 365 * 86400_000),
      publicKey,
      signingKey: signing.key,
      signingAlgorithm: signing.alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(options.keyUsage ?? x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(options.ekus ?? ["1.3.6.1.5.5.7.3.4"]),
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false, wc),
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey, false, wc),
      ],
    },
    wc,
  );
  return { key, cert };
}

export function certPem(cert: x509.X509Certificate): string {
  return `${cert.toString("pem")}\n`;
}

export function keyPem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }).toString();
}

async function writePrivate(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  await chmod(path, 0o600);
}

/**
 * Write a fresh development CA and signer into `<dataDir>/certs/` (CA certificate at
 * `dev-ca.pem`, keys mode 0600). With `ca` given, only the signer is reissued under it.
 */
export async function writeDevCredentials(
  dataDir: string,
  ca?: IssuedKey,
  now?: Date,
): Promise<{ dir: string; ca: IssuedKey; signer: IssuedKey }> {
  const dir = join(dataDir, "certs");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const issuer = ca ?? (await createCa({ now }));
  const signer = await issueSigner(issuer, { now });
  if (!ca) {
    await writePrivate(join(dir, DEV_FILES.caKey), keyPem(issuer.key));
    await writeFile(join(dir, DEV_FILES.caCert), certPem(issuer.cert));
  }
  await writePrivate(join(dir, DEV_FILES.signerKey), keyPem(signer.key));
  await writeFile(join(dir, DEV_FILES.signerCert), certPem(signer.cert));
  return { dir, ca: issuer, signer };
}
