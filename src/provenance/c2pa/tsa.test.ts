import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type C2paLog, createC2pa } from "./c2pa.js";
import { type Credentials, loadCredentials } from "./credentials.js";
import { certPem, type IssuedKey } from "./dev-ca.js";
import { createTsaIdentity, noiseImage, startTsa, tempDataDir } from "./test-support.js";
import type { ManifestSpec } from "./types.js";

const spec: ManifestSpec = {
  title: "t.jpg",
  generatorVersion: "0.1.0",
  model: { name: "m" },
  action: { kind: "created" },
  generationId: "g1",
};

let credentials: Credentials;
let identity: { ca: IssuedKey; tsa: IssuedKey };
let tsa: Awaited<ReturnType<typeof startTsa>>;

beforeAll(async () => {
  credentials = await loadCredentials({ dataDir: await tempDataDir() });
  identity = await createTsaIdentity();
  tsa = await startTsa(identity);
});
afterAll(() => tsa.close());

describe("RFC 3161 time-stamps (sigTst2)", () => {
  it("embeds a time-stamp that reads back validated and trusted under the TSA anchors", async () => {
    tsa.mode = "ok";
    const before = tsa.requests;
    const c2pa = await createC2pa({
      credentials,
      tsa: { url: tsa.url, trustAnchorsPem: certPem(identity.ca.cert) },
    });
    const signed = await c2pa.sign(await noiseImage("jpeg", 48), spec);
    expect(signed.timeStamped).toBe(true);
    expect(tsa.requests).toBe(before + 1);
    const read = await c2pa.read(signed.bytes);
    expect(read.validationState).toBe("Trusted");
    expect(read.timeStamp).toEqual({
      present: true,
      trusted: true,
      codes: expect.arrayContaining(["timeStamp.validated", "timeStamp.trusted"]),
    });
    const t = Date.parse(String(read.signingTime));
    expect(Math.abs(t - Date.now())).toBeLessThan(120_000);
    expect(c2pa.tsaAnchors).toEqual([expect.objectContaining({ source: "tsa" })]);
  });

  it("keeps signer and TSA anchors apart: a TSA root does not make a signer trusted, nor the reverse", async () => {
    tsa.mode = "ok";
    const signer = await createC2pa({ credentials, tsa: { url: tsa.url } });
    const signed = await signer.sign(await noiseImage("jpeg", 48), spec);
    const devCaPem = credentials.developmentCa!.pem;
    const otherDir = await tempDataDir();
    const verifierCreds = await loadCredentials({ dataDir: otherDir });
    // The verifier's only signer anchor is the TSA root; its only TSA anchor is our signer CA.
    const crossed = await createC2pa({
      credentials: { ...verifierCreds, developmentCa: null },
      trustAnchorsPem: certPem(identity.ca.cert),
      tsa: { url: tsa.url, trustAnchorsPem: devCaPem },
    });
    const read = await crossed.read(signed.bytes);
    expect(read.validationState).toBe("Valid");
    expect(read.timeStamp.present).toBe(true);
    expect(read.timeStamp.trusted).toBe(false);
    expect(read.timeStamp.codes).toContain("timeStamp.untrusted");
  });

  for (const mode of ["http-error", "rejection", "wrong-imprint"] as const) {
    it(`a required TSA that fails (${mode}) fails signing with signing_failed, and it is logged`, async () => {
      tsa.mode = mode;
      const logged: string[] = [];
      const log: C2paLog = (level, message) => logged.push(`${level}: ${message}`);
      const c2pa = await createC2pa({ credentials, tsa: { url: tsa.url, required: true }, log });
      await expect(c2pa.sign(await noiseImage("jpeg", 32), spec)).rejects.toMatchObject({
        code: "signing_failed",
        message: expect.stringContaining("time-stamp authority"),
      });
      expect(logged.join("\n")).toContain("error: C2PA signing failed");
    });
  }

  it("a TSA that never answers times out and fails signing", async () => {
    tsa.mode = "hang";
    const c2pa = await createC2pa({ credentials, tsa: { url: tsa.url, timeoutMs: 300 } });
    await expect(c2pa.sign(await noiseImage("jpeg", 32), spec)).rejects.toMatchObject({
      code: "signing_failed",
    });
  });

  it("when unstamped output is allowed, a failed TSA yields an unstamped image and a warning", async () => {
    tsa.mode = "http-error";
    const logged: Array<[string, string, Record<string, unknown>]> = [];
    const c2pa = await createC2pa({
      credentials,
      tsa: { url: tsa.url, required: false },
      log: (level, message, fields) => logged.push([level, message, fields]),
    });
    const signed = await c2pa.sign(await noiseImage("jpeg", 32), spec);
    expect(signed.timeStamped).toBe(false);
    expect(logged).toEqual([
      [
        "warn",
        expect.stringContaining("time-stamp failed"),
        expect.objectContaining({ tsa: tsa.url }),
      ],
    ]);
    const read = await c2pa.read(signed.bytes);
    expect(read.validationState).toBe("Trusted");
    expect(read.timeStamp.present).toBe(false);
    expect(read.signingTime).toBeNull();
  });
});
