/**
 * Signing credentials: configured PEM files, a remote signer, or development credentials
 * generated into `<dataDir>/certs/` on first start. Start-up refuses a chain that would make
 * every image read back wrong: expired or not yet valid, a key that is not the certificate's,
 * or a certificate without the C2PA signer usages. The message says which.
 */

import { createPublicKey, randomBytes } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { HallmarkError } from "../../errors/index.js";
import { chainProblems, type ParsedCert, parsePemCertificates } from "./certificates.js";
import type { RawSigner } from "./cose-sign.js";
import { DEV_FILES, writeDevCredentials } from "./dev-ca.js";
import { algForKey, createKeySigner, parsePrivateKey } from "./key-signer.js";
import { createRemoteSigner, type RemoteSignerConfig } from "./remote-signer.js";
import type { SigningAlg } from "./types.js";

export interface CredentialsOptions {
  /** Hallmark's data folder; development credentials live in `<dataDir>/certs/`. */
  dataDir: string;
  /** PEM file: the signer certificate, optionally followed by its issuers. */
  certFile?: string;
  /** PEM private key (PKCS#8, SEC1 or PKCS#1). Not used with `remote`. */
  keyFile?: string;
  /** PEM file of intermediate certificates, appended after those of `certFile`. */
  chainFile?: string;
  /** Expected algorithm; by default the key's (P-256 → ES256, P-384 → ES384, RSA → PS256, Ed25519). */
  alg?: SigningAlg;
  /** Sign through a KMS/HSM front instead of a local key (`certFile` holds the chain). */
  remote?: RemoteSignerConfig & { alg?: SigningAlg; selfTest?: boolean };
  /** Clock for the validity checks (tests). */
  now?: Date;
}

/**
 * What the signing side of a worker thread needs to rebuild the signer. Holds the private key
 * in PEM for the `key` kind: hand it only to worker threads of this process, never log it.
 */
export type PortableCredentials =
  | { kind: "key"; alg: SigningAlg; keyPem: string; chainPem: string }
  | { kind: "remote"; alg: SigningAlg; remote: RemoteSignerConfig; chainPem: string };

export interface Credentials {
  source: "files" | "remote" | "development";
  alg: SigningAlg;
  /** Signer certificate first, then its issuers (never the anchor itself unless configured). */
  chain: ParsedCert[];
  chainDer: Uint8Array[];
  signer: RawSigner;
  subject: string;
  issuer: string;
  notAfter: Date;
  /** The development CA, to be used as a trust anchor, when `source` is `development`. */
  developmentCa: ParsedCert | null;
  portable: PortableCredentials;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new HallmarkError("config_error", `${what} ${path} cannot be read`, { cause: error });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function refuse(what: string, problems: string[]): never {
  throw new HallmarkError("config_error", `${what}: ${problems.join("; ")}`, {
    details: { problems },
  });
}

function chainPemOf(chain: ParsedCert[]): string {
  return chain.map((c) => c.pem).join("");
}

/** Build credentials from PEM text (files, development, worker threads). */
export function credentialsFromPem(
  source: Credentials["source"],
  keyPem: string,
  chainPem: string,
  options: { alg?: SigningAlg; now?: Date; what?: string; developmentCa?: ParsedCert | null },
): Credentials {
  const what = options.what ?? "signing credentials";
  const key = parsePrivateKey(keyPem, `${what} key`);
  const alg = algForKey(key);
  if (!alg) {
    refuse(what, ["the key type is not supported (use EC P-256, EC P-384, RSA ≥ 2048 or Ed25519)"]);
  }
  if (options.alg && options.alg !== alg) {
    refuse(what, [`the key signs ${alg}, but ${options.alg} is configured`]);
  }
  const chain = parsePemCertificates(chainPem, `${what} certificate`);
  const problems = chainProblems(chain, options.now ?? new Date(), key);
  if (problems.length) refuse(what, problems);
  const signer = chain[0]!;
  return {
    source,
    alg,
    chain,
    chainDer: chain.map((c) => c.der),
    signer: createKeySigner(alg, key),
    subject: signer.subject,
    issuer: signer.issuer,
    notAfter: signer.notAfter,
    developmentCa: options.developmentCa ?? null,
    portable: { kind: "key", alg, keyPem, chainPem: chainPemOf(chain) },
  };
}

/** Credentials over a remote signer; the chain is local, the key is not. */
export function credentialsForRemote(
  remote: RemoteSignerConfig & { alg?: SigningAlg },
  chainPem: string,
  now?: Date,
): Credentials {
  const what = "remote signer credentials";
  const chain = parsePemCertificates(chainPem, `${what} certificate`);
  const problems = chainProblems(chain, now ?? new Date());
  if (problems.length) refuse(what, problems);
  const signerCert = chain[0]!;
  const publicKey = createPublicKey({
    key: Buffer.from(signerCert.peculiar.publicKey.rawData),
    format: "der",
    type: "spki",
  });
  const alg = algForKey(publicKey);
  if (!alg) refuse(what, ["the certificate's key type is not supported"]);
  if (remote.alg && remote.alg !== alg) {
    refuse(what, [`the certificate's key signs ${alg}, but ${remote.alg} is configured`]);
  }
  const config: RemoteSignerConfig = {
    url: remote.url,
    token: remote.token,
    keyId: remote.keyId,
    timeoutMs: remote.timeoutMs,
  };
  return {
    source: "remote",
    alg,
    chain,
    chainDer: chain.map((c) => c.der),
    signer: createRemoteSigner(config, alg, publicKey),
    subject: signerCert.subject,
    issuer: signerCert.issuer,
    notAfter: signerCert.notAfter,
    developmentCa: null,
    portable: { kind: "remote", alg, remote: config, chainPem: chainPemOf(chain) },
  };
}

/** Rebuild credentials from their portable form (in a worker thread). */
export function credentialsFromPortable(portable: PortableCredentials): Credentials {
  return portable.kind === "key"
    ? credentialsFromPem("files", portable.keyPem, portable.chainPem, { alg: portable.alg })
    : credentialsForRemote({ ...portable.remote, alg: portable.alg }, portable.chainPem);
}

async function loadDevelopment(dataDir: string, now: Date): Promise<Credentials> {
  const dir = join(dataDir, "certs");
  const paths = Object.fromEntries(
    Object.entries(DEV_FILES).map(([k, v]) => [k, join(dir, v)]),
  ) as Record<keyof typeof DEV_FILES, string>;
  const present = await Promise.all(Object.values(paths).map(exists));
  if (!present.every(Boolean)) await writeDevCredentials(dataDir, undefined, now);
  const caPem = await readText(paths.caCert, "development CA certificate");
  const [ca] = parsePemCertificates(caPem, "development CA certificate");
  if (!ca) refuse("development credentials", [`${paths.caCert} holds no certificate`]);
  if (now > ca.notAfter) {
    refuse("development credentials", [
      `the development CA expired on ${ca.notAfter.toISOString()}; run \`hallmark certs dev\``,
    ]);
  }
  const load = async () =>
    credentialsFromPem(
      "development",
      await readText(paths.signerKey, "development signer key"),
      `${await readText(paths.signerCert, "development signer certificate")}${caPem}`,
      { now, what: "development credentials", developmentCa: ca },
    );
  try {
    return await load();
  } catch (error) {
    // An expired or damaged development signer is reissued under the same CA, so the anchor
    // that verifiers were given keeps working.
    if (!(error instanceof HallmarkError) || error.code !== "config_error") throw error;
    const caKey = parsePrivateKey(
      await readText(paths.caKey, "development CA key"),
      "development CA key",
    );
    await writeDevCredentials(dataDir, { key: caKey, cert: ca.peculiar }, now);
    return load();
  }
}

/**
 * Load the signing credentials, in this order: `remote` (with `certFile`), `certFile` +
 * `keyFile`, else development credentials in `<dataDir>/certs/` (generated when absent).
 * Throws HallmarkError `config_error` naming the problem.
 * @example const creds = await loadCredentials({ dataDir: "./data" });
 */
export async function loadCredentials(options: CredentialsOptions): Promise<Credentials> {
  const now = options.now ?? new Date();
  const chainExtra = options.chainFile
    ? await readText(options.chainFile, "certificate chain file")
    : "";
  if (options.remote) {
    if (!options.certFile) {
      refuse("remote signer", ["certFile (the signer certificate chain) is required"]);
    }
    const chainPem = `${await readText(options.certFile, "certificate file")}\n${chainExtra}`;
    const creds = credentialsForRemote(options.remote, chainPem, now);
    if (options.remote.selfTest !== false) {
      try {
        await creds.signer.sign(randomBytes(32));
      } catch (error) {
        throw new HallmarkError(
          "config_error",
          `remote signer self-test failed: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
    }
    return creds;
  }
  if (options.certFile || options.keyFile) {
    if (!options.certFile || !options.keyFile) {
      refuse("signing credentials", ["certFile and keyFile must be configured together"]);
    }
    const chainPem = `${await readText(options.certFile, "certificate file")}\n${chainExtra}`;
    return credentialsFromPem("files", await readText(options.keyFile, "key file"), chainPem, {
      alg: options.alg,
      now,
    });
  }
  return loadDevelopment(options.dataDir, now);
}
