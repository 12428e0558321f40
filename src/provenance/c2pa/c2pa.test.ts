import { readFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { HallmarkError } from "../../errors/index.js";
import { type C2pa, createC2pa } from "./c2pa.js";
import { type Credentials, loadCredentials } from "./credentials.js";
import { certPem, createCa, issueSigner } from "./dev-ca.js";
import { changeOnePngPixel, noiseImage, tempDataDir } from "./test-support.js";
import { type ManifestSpec, TRAINED_ALGORITHMIC_MEDIA } from "./types.js";

const spec: ManifestSpec = {
  title: "generated.png",
  generatorVersion: "0.1.0",
  model: { name: "sd-turbo", version: "2.1" },
  action: { kind: "created" },
  prompt: "a lighthouse at dusk",
  generationId: "gen_01HZX",
  auditUrl: "https://gateway.example/v1/audit/entries/42",
  logIndex: 42,
  licence: {
    url: "https://creativecommons.org/licenses/by/4.0/",
    usageTerms: "Attribution required",
    name: "CC-BY-4.0",
  },
  policy: { id: "default", hash: "sha256:abc" },
  softBinding: { alg: "org.hallmark.watermark.v1", value: "AAECAwQFBgc=" },
};

let dataDir: string;
let credentials: Credentials;
let c2pa: C2pa;

beforeAll(async () => {
  dataDir = await tempDataDir();
  credentials = await loadCredentials({ dataDir });
  c2pa = await createC2pa({ credentials });
});

describe("sign and read back", () => {
  for (const format of ["png", "jpeg", "webp"] as const) {
    it(`${format}: round trip reads Trusted with the development CA as anchor, with every assertion`, async () => {
      const image = await noiseImage(format);
      const signed = await c2pa.sign(image, { ...spec, title: `generated.${format}` });
      expect(signed.manifestLabel).toMatch(/^urn:c2pa:[0-9a-f-]{36}$/);
      expect(signed.manifestBytes.byteLength).toBeGreaterThan(1000);
      expect(signed.timeStamped).toBe(false);

      const read = await c2pa.read(signed.bytes, image.mediaType);
      expect(read.present).toBe(true);
      expect(read.mediaType).toBe(image.mediaType);
      expect(read.validationState).toBe("Trusted");
      expect(read.failures).toEqual([]);
      expect(read.successCodes).toEqual(
        expect.arrayContaining([
          "signingCredential.trusted",
          "claimSignature.validated",
          "assertion.dataHash.match",
        ]),
      );
      expect(read.activeManifest).toBe(signed.manifestLabel);
      expect(read.claimGenerator).toBe("hallmark 0.1.0");
      expect(read.signer?.subject).toContain("Hallmark Development Signer");
      expect(read.signer?.issuer).toContain("Hallmark Development CA");
      expect(read.aiGenerated).toBe(true);
      expect(read.digitalSourceType).toBe(TRAINED_ALGORITHMIC_MEDIA);
      expect(read.actions).toEqual([
        expect.objectContaining({
          action: "c2pa.created",
          digitalSourceType: TRAINED_ALGORITHMIC_MEDIA,
          softwareAgent: "sd-turbo 2.1",
        }),
      ]);
      expect(read.licence).toEqual(spec.licence);
      expect(read.trainingMining).toEqual({
        aiTraining: "notAllowed",
        aiGenerativeTraining: "notAllowed",
        aiInference: "notAllowed",
        dataMining: "notAllowed",
      });
      expect(read.generation).toEqual({
        generationId: "gen_01HZX",
        auditUrl: "https://gateway.example/v1/audit/entries/42",
        logIndex: 42,
        promptSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        model: { name: "sd-turbo", version: "2.1" },
        policy: { id: "default", hash: "sha256:abc" },
      });
      expect(read.generation?.prompt).toBeUndefined();
      expect(read.softBinding).toEqual(spec.softBinding);
      expect(read.signedByThisGateway).toBe(true);
      expect(read.anchors).toEqual([expect.objectContaining({ source: "development" })]);

      // The stored manifest store reads on its own (the lead keeps it with the image row).
      expect(
        Buffer.from(signed.bytes).includes(Buffer.from(signed.manifestBytes.subarray(0, 64))),
      ).toBe(true);
    });
  }

  it("records the prompt's SHA-256, and the text only when allowed", async () => {
    const { createHash } = await import("node:crypto");
    const image = await noiseImage("jpeg", 48);
    const hidden = await c2pa.read((await c2pa.sign(image, spec)).bytes);
    expect(hidden.generation?.promptSha256).toBe(
      createHash("sha256").update("a lighthouse at dusk").digest("hex"),
    );
    expect(hidden.generation?.prompt).toBeUndefined();
    const shown = await c2pa.read(
      (await c2pa.sign(image, { ...spec, includePromptText: true })).bytes,
    );
    expect(shown.generation?.prompt).toBe("a lighthouse at dusk");
  });

  it("writes the chosen training-and-data-mining permissions", async () => {
    const image = await noiseImage("jpeg", 48);
    const signed = await c2pa.sign(image, {
      ...spec,
      trainingMining: {
        aiInference: "allowed",
        dataMining: "constrained",
        constraintInfo: "https://x.example/terms",
      },
    });
    const read = await c2pa.read(signed.bytes);
    expect(read.trainingMining).toMatchObject({
      aiInference: "allowed",
      dataMining: "constrained",
      aiTraining: "notAllowed",
    });
  });
});

describe("tampering and trust", () => {
  it("one changed pixel: Invalid with assertion.dataHash.mismatch", async () => {
    const image = {
      bytes: new Uint8Array(
        await sharp({ create: { width: 32, height: 32, channels: 3, background: "#336699" } })
          .png({ adaptiveFiltering: false })
          .toBuffer(),
      ),
      mediaType: "image/png" as const,
    };
    const signed = await c2pa.sign(image, spec);
    const tampered = changeOnePngPixel(signed.bytes);
    const [a, b] = await Promise.all([
      sharp(signed.bytes).raw().toBuffer(),
      sharp(tampered).raw().toBuffer(),
    ]);
    let differing = 0;
    for (let i = 0; i < a.length; i += 3)
      if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) differing++;
    expect(differing).toBe(1);

    const read = await c2pa.read(tampered);
    expect(read.present).toBe(true);
    expect(read.validationState).toBe("Invalid");
    expect(read.failures.map((f) => f.code)).toContain("assertion.dataHash.mismatch");
    expect(read.signedByThisGateway).toBe(false);
  });

  it("another anchor set: Valid with signingCredential.untrusted", async () => {
    const other = await createCa({ subject: "CN=Some Other Root, O=Elsewhere" });
    const otherDir = await tempDataDir();
    // A verifier that only trusts another root (and holds other credentials).
    const otherCa = await issueSigner(other);
    const { writeFile } = await import("node:fs/promises");
    await writeFile(join(otherDir, "cert.pem"), certPem(otherCa.cert) + certPem(other.cert));
    await writeFile(
      join(otherDir, "key.pem"),
      otherCa.key.export({ type: "pkcs8", format: "pem" }).toString(),
    );
    const verifierCreds = await loadCredentials({
      dataDir: otherDir,
      certFile: join(otherDir, "cert.pem"),
      keyFile: join(otherDir, "key.pem"),
    });
    const verifier = await createC2pa({
      credentials: verifierCreds,
      trustAnchorsPem: certPem(other.cert),
    });

    const signed = await c2pa.sign(await noiseImage("jpeg", 48), spec);
    const read = await verifier.read(signed.bytes);
    expect(read.validationState).toBe("Valid");
    expect([...read.failures.map((f) => f.code), ...read.informationalCodes]).toContain(
      "signingCredential.untrusted",
    );
    expect(read.signedByThisGateway).toBe(false);
    expect(read.anchors.map((a) => a.subject)).toEqual(["CN=Some Other Root, O=Elsewhere"]);
  });

  it("re-encoded by sharp (metadata stripped): no manifest", async () => {
    for (const format of ["png", "jpeg", "webp"] as const) {
      const signed = await c2pa.sign(await noiseImage(format, 48), spec);
      const reencoded = await sharp(signed.bytes)[format]().toBuffer();
      const read = await c2pa.read(reencoded);
      expect(read.present).toBe(false);
      expect(read.validationState).toBeNull();
    }
  });
});

describe("edits", () => {
  it("keeps the input's own manifest as the parentOf ingredient", async () => {
    const original = await c2pa.sign(await noiseImage("png", 64), spec);
    const output = await noiseImage("jpeg", 64);
    const edited = await c2pa.sign(output, {
      ...spec,
      action: {
        kind: "edited",
        input: { bytes: original.bytes, mediaType: "image/png" },
        inputTitle: "upload.png",
      },
    });
    const read = await c2pa.read(edited.bytes);
    expect(read.validationState).toBe("Trusted");
    expect(read.actions.map((a) => a.action)).toEqual(["c2pa.opened", "c2pa.edited"]);
    expect(read.aiGenerated).toBe(true);
    expect(read.ingredients).toEqual([
      expect.objectContaining({
        title: "upload.png",
        format: "image/png",
        relationship: "parentOf",
        activeManifest: original.manifestLabel,
      }),
    ]);
  });

  it("accepts an input without a manifest, in each format", async () => {
    for (const format of ["png", "jpeg", "webp"] as const) {
      const input = await noiseImage(format, 48);
      const edited = await c2pa.sign(await noiseImage("png", 48), {
        ...spec,
        action: { kind: "edited", input },
      });
      const read = await c2pa.read(edited.bytes);
      expect(read.validationState).toBe("Trusted");
      expect(read.ingredients).toEqual([
        expect.objectContaining({ format: input.mediaType, relationship: "parentOf" }),
      ]);
      expect(read.ingredients[0]?.activeManifest).toBeUndefined();
    }
  });

  it("refuses an edit input that is not an image with invalid_image or unsupported_media_type", async () => {
    const err = await c2pa
      .sign(await noiseImage("png", 32), {
        ...spec,
        action: {
          kind: "edited",
          input: { bytes: new Uint8Array([1, 2, 3, 4]), mediaType: "image/png" },
        },
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(HallmarkError);
    expect(["invalid_image", "unsupported_media_type"]).toContain(err.code);
  });
});

describe("sign input checks", () => {
  it("refuses bytes that are not the declared type", async () => {
    const png = await noiseImage("png", 32);
    await expect(
      c2pa.sign({ bytes: png.bytes, mediaType: "image/jpeg" }, spec),
    ).rejects.toMatchObject({
      code: "unsupported_media_type",
    });
  });

  it("writes the development CA where operators look for it", async () => {
    const pem = await readFile(join(dataDir, "certs", "dev-ca.pem"), "utf8");
    expect(pem).toContain("BEGIN CERTIFICATE");
  });
});
