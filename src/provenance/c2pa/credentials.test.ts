import { generateKeyPairSync } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createC2pa } from "./c2pa.js";
import { checkCredentials } from "./check.js";
import { loadCredentials } from "./credentials.js";
import { certPem, createCa, DEV_FILES, issueSigner, keyPem } from "./dev-ca.js";
import { noiseImage, startRemoteSigner, tempDataDir } from "./test-support.js";
import type { ManifestSpec, SigningAlg } from "./types.js";
import * as x509 from "./x509.js";

const spec: ManifestSpec = {
  title: "t.jpg",
  generatorVersion: "0.1.0",
  model: { name: "m" },
  action: { kind: "created" },
  generationId: "g1",
};

/** Write a CA + signer to files; returns paths and the CA PEM. */
async function chainFiles(
  dir: string,
  options: Parameters<typeof issueSigner>[1] = {},
  keyText?: (pem: string) => string,
) {
  const ca = await createCa({ subject: "CN=Test Root, O=Hallmark tests" });
  const signer = await issueSigner(ca, { subject: "CN=Test Signer, O=Hallmark tests", ...options });
  const certFile = join(dir, "signer.crt");
  const keyFile = join(dir, "signer.key");
  const chainFile = join(dir, "chain.crt");
  await writeFile(certFile, certPem(signer.cert));
  await writeFile(chainFile, certPem(ca.cert));
  const pem = keyPem(signer.key);
  await writeFile(keyFile, keyText ? keyText(pem) : pem);
  return { ca, signer, certFile, keyFile, chainFile, caPem: certPem(ca.cert) };
}

describe("development credentials", () => {
  it("are generated on first start into <dataDir>/certs, keys 0600, subjects say development", async () => {
    const dataDir = await tempDataDir();
    const creds = await loadCredentials({ dataDir });
    expect(creds.source).toBe("development");
    expect(creds.alg).toBe("ES256");
    expect(creds.subject).toMatch(/development/i);
    expect(creds.issuer).toMatch(/development/i);
    expect(creds.developmentCa?.subject).toMatch(/Development CA/);
    for (const key of [DEV_FILES.caKey, DEV_FILES.signerKey]) {
      expect((await stat(join(dataDir, "certs", key))).mode & 0o777).toBe(0o600);
    }
    const caPem = await readFile(join(dataDir, "certs", "dev-ca.pem"), "utf8");
    expect(new x509.X509Certificate(caPem).subject).toMatch(/development/i);

    // A second start reuses them.
    const again = await loadCredentials({ dataDir });
    expect(again.chain[0]?.sha256).toBe(creds.chain[0]?.sha256);
  });

  it("an expired development signer is reissued under the same CA", async () => {
    const dataDir = await tempDataDir();
    const first = await loadCredentials({ dataDir });
    const later = await loadCredentials({ dataDir, now: new Date(Date.now() + 400 * 86400_000) });
    expect(later.chain[0]?.sha256).not.toBe(first.chain[0]?.sha256);
    expect(later.developmentCa?.sha256).toBe(first.developmentCa?.sha256);
  });
});

describe("configured files", () => {
  for (const alg of ["ES256", "ES384", "PS256", "Ed25519"] as SigningAlg[]) {
    it(`${alg}: signs, and reads back Trusted under its CA`, async () => {
      const dir = await tempDataDir();
      const files = await chainFiles(dir, { alg });
      const creds = await loadCredentials({ dataDir: dir, ...files });
      expect(creds.source).toBe("files");
      expect(creds.alg).toBe(alg);
      const c2pa = await createC2pa({ credentials: creds, trustAnchorsPem: files.caPem });
      const signed = await c2pa.sign(await noiseImage("jpeg", 48), spec);
      const read = await c2pa.read(signed.bytes);
      expect(read.validationState).toBe("Trusted");
      expect(read.failures).toEqual([]);
      expect(read.anchors).toEqual([
        expect.objectContaining({ source: "operator", subject: "CN=Test Root, O=Hallmark tests" }),
      ]);
    });
  }

  it("accepts a SEC1 (EC PRIVATE KEY) key", async () => {
    const dir = await tempDataDir();
    const files = await chainFiles(dir, {}, () => "");
    await writeFile(
      files.keyFile,
      files.signer.key.export({ type: "sec1", format: "pem" }).toString(),
    );
    const creds = await loadCredentials({ dataDir: dir, ...files });
    expect(creds.alg).toBe("ES256");
  });

  it("refuses an expired chain, saying so", async () => {
    const dir = await tempDataDir();
    const files = await chainFiles(dir, {
      notBefore: new Date("2020-01-01T00:00:00Z"),
      notAfter: new Date("2021-01-01T00:00:00Z"),
    });
    await expect(loadCredentials({ dataDir: dir, ...files })).rejects.toMatchObject({
      code: "config_error",
      message: expect.stringMatching(/signer certificate .* expired on 2021-01-01/),
    });
  });

  it("refuses a key that does not match the certificate", async () => {
    const dir = await tempDataDir();
    const files = await chainFiles(dir);
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    await writeFile(files.keyFile, keyPem(other));
    await expect(loadCredentials({ dataDir: dir, ...files })).rejects.toMatchObject({
      code: "config_error",
      message: expect.stringContaining("private key does not match"),
    });
  });

  it("refuses a certificate without the signer key usages", async () => {
    const dir = await tempDataDir();
    const serverAuth = await chainFiles(dir, { ekus: ["1.3.6.1.5.5.7.3.1"] });
    await expect(loadCredentials({ dataDir: dir, ...serverAuth })).rejects.toMatchObject({
      code: "config_error",
      message: expect.stringContaining("extendedKeyUsage must include one of"),
    });
    const noDigitalSignature = await chainFiles(dir, {
      keyUsage: x509.KeyUsageFlags.keyEncipherment,
    });
    await expect(loadCredentials({ dataDir: dir, ...noDigitalSignature })).rejects.toMatchObject({
      code: "config_error",
      message: expect.stringContaining("lacks digitalSignature"),
    });
  });

  it("refuses a chain in the wrong order", async () => {
    const dir = await tempDataDir();
    const files = await chainFiles(dir);
    const unrelated = await createCa({ subject: "CN=Unrelated" });
    await writeFile(files.chainFile, certPem(unrelated.cert));
    await expect(loadCredentials({ dataDir: dir, ...files })).rejects.toMatchObject({
      code: "config_error",
      message: expect.stringContaining("is not signed by the next certificate"),
    });
  });

  it("refuses certFile without keyFile, and unreadable files", async () => {
    const dir = await tempDataDir();
    const files = await chainFiles(dir);
    await expect(loadCredentials({ dataDir: dir, certFile: files.certFile })).rejects.toMatchObject(
      {
        code: "config_error",
      },
    );
    await expect(
      loadCredentials({ dataDir: dir, certFile: join(dir, "missing.crt"), keyFile: files.keyFile }),
    ).rejects.toMatchObject({
      code: "config_error",
      message: expect.stringContaining("cannot be read"),
    });
  });
});

describe("remote signer", () => {
  it("signs digests over HTTP (P1363 or DER answers) and reads back Trusted", async () => {
    const dir = await tempDataDir();
    const files = await chainFiles(dir);
    for (const der of [false, true]) {
      const remote = await startRemoteSigner(files.signer.key, { token: "s3cret", der });
      try {
        const creds = await loadCredentials({
          dataDir: dir,
          certFile: files.certFile,
          chainFile: files.chainFile,
          remote: { url: remote.url, token: "s3cret", keyId: "kms/key/1" },
        });
        expect(creds.source).toBe("remote");
        const c2pa = await createC2pa({ credentials: creds, trustAnchorsPem: files.caPem });
        const read = await c2pa.read((await c2pa.sign(await noiseImage("png", 48), spec)).bytes);
        expect(read.validationState).toBe("Trusted");
        expect(remote.last).toMatchObject({
          alg: "ES256",
          digest_alg: "SHA-256",
          key_id: "kms/key/1",
        });
        expect(Buffer.from(String(remote.last?.digest), "base64")).toHaveLength(32);
      } finally {
        await remote.close();
      }
    }
  });

  it("start-up self-test refuses a remote signer that holds another key or is unreachable", async () => {
    const dir = await tempDataDir();
    const files = await chainFiles(dir);
    const wrongKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const wrong = await startRemoteSigner(files.signer.key, { wrongKey });
    try {
      await expect(
        loadCredentials({ dataDir: dir, certFile: files.certFile, remote: { url: wrong.url } }),
      ).rejects.toMatchObject({
        code: "config_error",
        message: expect.stringContaining("does not verify"),
      });
    } finally {
      await wrong.close();
    }
    await expect(
      loadCredentials({
        dataDir: dir,
        certFile: files.certFile,
        remote: { url: wrong.url, timeoutMs: 500 },
      }),
    ).rejects.toMatchObject({
      code: "config_error",
      message: expect.stringContaining("unreachable"),
    });
  });

  it("a signer that fails mid-flight fails the signature with signing_failed", async () => {
    const dir = await tempDataDir();
    const files = await chainFiles(dir);
    const remote = await startRemoteSigner(files.signer.key, { token: "right" });
    try {
      const creds = await loadCredentials({
        dataDir: dir,
        certFile: files.certFile,
        remote: { url: remote.url, token: "wrong", selfTest: false },
      });
      const c2pa = await createC2pa({ credentials: creds });
      await expect(c2pa.sign(await noiseImage("jpeg", 32), spec)).rejects.toMatchObject({
        code: "signing_failed",
        message: expect.stringContaining("HTTP 401"),
      });
    } finally {
      await remote.close();
    }
  });
});

describe("checkCredentials", () => {
  it("explains problems and names the anchors in force", async () => {
    const dir = await tempDataDir();
    const files = await chainFiles(dir, {
      notAfter: new Date("2021-01-01T00:00:00Z"),
      notBefore: new Date("2020-01-01T00:00:00Z"),
    });
    const report = await checkCredentials({ dataDir: dir, ...files, trustAnchorsPem: files.caPem });
    expect(report.ok).toBe(false);
    expect(report.problems.join("\n")).toMatch(/expired on 2021-01-01/);
    expect(report.anchors).toEqual([
      expect.objectContaining({ subject: "CN=Test Root, O=Hallmark tests", source: "operator" }),
    ]);
  });

  it("warns when the chain leads to none of the anchors in force", async () => {
    const dir = await tempDataDir();
    const files = await chainFiles(dir);
    const other = await createCa({ subject: "CN=Not Our Root" });
    const report = await checkCredentials({
      dataDir: dir,
      ...files,
      trustAnchorsPem: certPem(other.cert),
    });
    expect(report.ok).toBe(true);
    expect(report.chainAnchor).toBeNull();
    expect(report.warnings.join("\n")).toContain("leads to none of the trust anchors");
    const good = await checkCredentials({ dataDir: dir, ...files, trustAnchorsPem: files.caPem });
    expect(good.chainAnchor?.subject).toBe("CN=Test Root, O=Hallmark tests");
  });

  it("does not generate development credentials, and says they are missing", async () => {
    const dir = await tempDataDir();
    const report = await checkCredentials({ dataDir: dir });
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toContain("no credentials are configured");
  });
});
