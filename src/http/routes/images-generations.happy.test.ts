import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ImageModelVersions, packagedOcrModels } from "../../classify/image/index.js";
import { generations, images } from "../../db/schema.js";
import { testDatabases } from "../../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";

describe.each(testDatabases())("POST /v1/images/generations on $name (happy)", (testDb) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDb);
  });
  afterAll(() => gw.close());

  it("returns the images with the OpenAI shape, commits the audit rows, and says which stages ran", async () => {
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "a lighthouse at dusk", n: 2, size: "256x256", seed: 7, user: "end-user-1" },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.data).toHaveLength(2);
    const bytes = Buffer.from(body.data[0].b64_json, "base64");
    const meta = await sharp(bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 256, 256]);
    expect(body.hallmark.placeholder).toBe(true);
    expect(body.hallmark.decision.action).toBe("allow");
    const stages = Object.fromEntries(
      body.hallmark.stages.map((s: { name: string; status: string }) => [s.name, s.status]),
    );
    expect(stages).toMatchObject({
      screen_prompt: "applied",
      generate: "applied",
      record: "applied",
    });
    expect(stages.screen_output).toBe("applied");
    const outputStage = body.hallmark.stages.find(
      (x: { name: string }) => x.name === "screen_output",
    );
    expect(outputStage.note).toMatch(/nsfw/);
    expect(stages.c2pa).toBe("applied");
    expect(body.hallmark.images[0].marks).toContainEqual(expect.objectContaining({ kind: "c2pa" }));
    expect(res.headers.get("server-timing")).toMatch(/screen_prompt;dur=[\d.]+/);
    // Encoding the delivered bytes is a stage of its own, between the mark and the signature.
    expect(body.hallmark.stages.map((x: { name: string }) => x.name)).toEqual([
      "screen_prompt",
      "screen_input",
      "generate",
      "screen_output",
      "watermark",
      "encode",
      "c2pa",
      "record",
    ]);
    expect(res.headers.get("server-timing")).toMatch(/watermark;dur=[\d.]+, encode;dur=[\d.]+/);

    const id = body.hallmark.generation_id;
    const [row] = await gw.database.db.select().from(generations).where(eq(generations.id, id));
    expect(row).toMatchObject({
      status: "completed",
      endUser: "end-user-1",
      prompt: "a lighthouse at dusk",
      action: "allow",
    });
    const imageRows = await gw.database.db.select().from(images).where(eq(images.generationId, id));
    expect(imageRows.map((r) => r.sha256).sort()).toEqual(
      body.hallmark.images.map((i: { sha256: string }) => i.sha256).sort(),
    );
    expect(imageRows[0]!.seed).toBe("7");
    // The signed manifest is kept with the row, for stripped copies found later.
    expect(imageRows[0]!.c2paManifest?.length).toBeGreaterThan(500);
    expect(imageRows[0]!.c2paLabel).toMatch(/^urn:c2pa:/);
    expect(imageRows[0]!.pdqHash).toMatch(/^[0-9a-f]{64}$/);
    // The decision names the exact models that screened it: the files on disk, by SHA-256.
    type ScreenedBy = { text: string | null; image: ImageModelVersions };
    const screenedBy = (row!.decision as { screened_by: ScreenedBy }).screened_by;
    const sha = (file: string) =>
      createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 12);
    expect(screenedBy.text).toMatch(/^text-classifier@[0-9a-f]{12}$/);
    expect(screenedBy.image.nsfw).toBe(
      `nsfw-mobilenet-v2@${sha(join(gw.config.modelsDir, "nsfw", "nsfw-mobilenet-v2.onnx"))}`,
    );
    expect(screenedBy.image.faces?.age).toBe(
      `faceres@${sha(join(gw.config.modelsDir, "faces", "faceres.onnx"))}`,
    );
    expect(screenedBy.image.ocr).toMatchObject({
      detector: `ch_PP-OCRv4_det_infer@${sha(packagedOcrModels().detection)}`,
      precision: "float",
      side: gw.config.ocr.detectionSide,
    });
    expect(screenedBy.image.ocr?.ranges).toBeUndefined();
  });

  it("encodes jpeg and webp outputs as asked", async () => {
    // Compression 0 is OpenAI's range end (sharp's quality starts at 1).
    for (const [format, compression] of [
      ["jpeg", 70],
      ["webp", 70],
      ["webp", 0],
    ] as const) {
      const res = await gw.request("/v1/images/generations", {
        json: {
          prompt: "a red barn",
          output_format: format,
          output_compression: compression,
          size: "256x256",
        },
      });
      expect(res.status).toBe(200);
      const body = await res.json();
      const meta = await sharp(Buffer.from(body.data[0].b64_json, "base64")).metadata();
      expect(meta.format).toBe(format);
      expect(body.hallmark.images[0].media_type).toBe(`image/${format}`);
    }
  });

  it("is deterministic for a fixed seed and prompt (placeholder backend)", async () => {
    const ask = () =>
      gw.request("/v1/images/generations", { json: { prompt: "same", seed: 99, size: "256x256" } });
    const a = await (await ask()).json();
    const b = await (await ask()).json();
    // The files differ (each carries its own manifest and a random mark id); the picture does
    // not: the pixels differ only by the invisible marks.
    const pixels = (x: { data: Array<{ b64_json: string }> }) =>
      sharp(Buffer.from(x.data[0]!.b64_json, "base64")).raw().toBuffer();
    const [pa, pb] = [await pixels(a), await pixels(b)];
    let total = 0;
    for (let i = 0; i < pa.length; i++) total += Math.abs(pa[i]! - pb[i]!);
    expect(total / pa.length).toBeLessThan(2);
    expect(a.hallmark.images[0].sha256).not.toBe(b.hallmark.images[0].sha256);
    expect(a.hallmark.generation_id).not.toBe(b.hallmark.generation_id);
  });

  it("GET /v1/generations/{id} gives the owner its record", async () => {
    const made = await (
      await gw.request("/v1/images/generations", {
        json: { prompt: "a quiet pond", size: "256x256" },
      })
    ).json();
    const res = await gw.request(`/v1/generations/${made.hallmark.generation_id}`);
    expect(res.status).toBe(200);
    const record = await res.json();
    expect(record).toMatchObject({
      id: made.hallmark.generation_id,
      status: "completed",
      prompt: "a quiet pond",
    });
    expect(record.images[0].sha256).toBe(made.hallmark.images[0].sha256);
  });

  it("POST /v1/provenance/verify recognises an image made here, raw or multipart, and not others", async () => {
    const made = await (
      await gw.request("/v1/images/generations", {
        json: { prompt: "a mountain hut", size: "256x256" },
      })
    ).json();
    const bytes = Buffer.from(made.data[0].b64_json, "base64");
    const raw = await gw.request("/v1/provenance/verify", {
      key: null,
      method: "POST",
      headers: { "content-type": "image/png" },
      body: bytes,
    });
    expect(raw.status).toBe(200);
    const verdict = await raw.json();
    expect(verdict.produced_here).toBe(true);
    expect(verdict.generations[0].generation_id).toBe(made.hallmark.generation_id);
    expect(verdict.c2pa).toMatchObject({
      present: true,
      validation_state: "Trusted",
      ai_generated: true,
      signed_by_this_gateway: true,
      digital_source_type: "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
      generation: {
        generationId: made.hallmark.generation_id,
        // The manifest names the request's audit-log entry (reserved before signing).
        logIndex: made.hallmark.log_index,
      },
    });
    expect(verdict.c2pa.generation.logOrigin).toEqual(expect.any(String));
    expect(verdict.c2pa.licence.url).toMatch(/^https:/);
    expect(verdict.c2pa.anchors.length).toBeGreaterThan(0);

    const form = new FormData();
    form.set("file", new Blob([bytes], { type: "image/png" }), "x.png");
    const multipart = await gw.request("/v1/provenance/verify", {
      key: null,
      method: "POST",
      body: form,
    });
    expect((await multipart.json()).produced_here).toBe(true);

    const reencoded = await sharp(bytes).jpeg().toBuffer();
    const other = await gw.request("/v1/provenance/verify", {
      key: null,
      method: "POST",
      headers: { "content-type": "image/jpeg" },
      body: reencoded,
    });
    // Re-encoded: not the same bytes and no manifest, but the watermark still says where it came from.
    expect(await other.json()).toMatchObject({
      produced_here: true,
      generations: [],
      c2pa: { present: false },
      watermark: { detected: true, known: true },
    });
  });

  it("a copy stripped of metadata and re-encoded still leads back to its generation and manifest", async () => {
    const made = await (
      await gw.request("/v1/images/generations", {
        json: { prompt: "a sailing boat at sea", size: "512x512" },
      })
    ).json();
    const stages = Object.fromEntries(
      made.hallmark.stages.map((s: { name: string; status: string }) => [s.name, s.status]),
    );
    expect(stages.watermark).toBe("applied");
    const mark = made.hallmark.images[0].marks.find(
      (m: { kind: string }) => m.kind === "watermark",
    );
    expect(mark).toMatchObject({ applied: true, alg: "org.hallmark.watermark.v1" });
    expect(mark.psnr).toBeGreaterThanOrEqual(40);

    const original = Buffer.from(made.data[0].b64_json, "base64");
    const stripped = await sharp(original).resize(400).jpeg({ quality: 75 }).toBuffer();
    const res = await gw.request("/v1/provenance/verify", {
      key: null,
      method: "POST",
      headers: { "content-type": "image/jpeg" },
      body: stripped,
    });
    const verdict = await res.json();
    expect(verdict.c2pa.present).toBe(false);
    expect(verdict.generations).toEqual([]);
    expect(verdict.watermark).toMatchObject({ detected: true, mark_id: mark.mark_id, known: true });
    expect(verdict.produced_here).toBe(true);
    expect(verdict.durable_credentials.generation_id).toBe(made.hallmark.generation_id);
    expect(verdict.durable_credentials.manifest_base64.length).toBeGreaterThan(500);
    expect(verdict.durable_credentials.licence).toMatchObject({
      known: true,
      reference: { id: "hallmark-placeholder" },
    });
    expect(verdict.durable_credentials.licence.statement.url).toMatch(/^https:/);

    // The signed manifest carries the soft binding to the mark.
    const signed = await (
      await gw.request("/v1/provenance/verify", {
        key: null,
        method: "POST",
        headers: { "content-type": "image/png" },
        body: original,
      })
    ).json();
    expect(signed.c2pa.soft_binding.alg).toBe("org.hallmark.watermark.v1");
  });

  it("an image not made here carries no mark and no credentials", async () => {
    const foreign = await sharp({
      create: { width: 300, height: 200, channels: 3, background: "#3a7" },
    })
      .png()
      .toBuffer();
    const verdict = await (
      await gw.request("/v1/provenance/verify", {
        key: null,
        method: "POST",
        headers: { "content-type": "image/png" },
        body: foreign,
      })
    ).json();
    expect(verdict).toMatchObject({
      produced_here: false,
      durable_credentials: null,
      watermark: { detected: false },
    });
  });

  it("one changed pixel invalidates the manifest (assertion.dataHash.mismatch)", async () => {
    const made = await (
      await gw.request("/v1/images/generations", {
        json: { prompt: "a field of tulips", size: "256x256", output_format: "jpeg" },
      })
    ).json();
    const bytes = Buffer.from(made.data[0].b64_json, "base64");
    // Flip one bit in the last part of the JPEG entropy-coded data (inside the hashed range),
    // at the first place from 200 bytes before the end where the image still decodes: about one
    // flip in twenty corrupts the Huffman stream, and an image that does not decode is refused
    // (422) before its manifest is read (the marked bytes differ per run: the watermark key).
    let tampered = Buffer.from(bytes);
    for (let at = bytes.length - 200; at > bytes.length - 400; at--) {
      tampered = Buffer.from(bytes);
      tampered[at] = tampered[at]! ^ 0x01;
      const decodes = await sharp(tampered, { failOn: "error" })
        .raw()
        .toBuffer()
        .then(() => true)
        .catch(() => false);
      if (decodes) break;
    }
    const res = await gw.request("/v1/provenance/verify", {
      key: null,
      method: "POST",
      headers: { "content-type": "image/jpeg" },
      body: tampered,
    });
    const verdict = await res.json();
    expect(res.status, JSON.stringify(verdict)).toBe(200);
    expect(verdict.generations).toEqual([]);
    expect(verdict.c2pa.validation_state).toBe("Invalid");
    expect(verdict.c2pa.failures.map((f: { code: string }) => f.code)).toContain(
      "assertion.dataHash.mismatch",
    );
  });

  it("answers health and readiness", async () => {
    expect((await gw.request("/healthz", { key: null })).status).toBe(200);
    const ready = await gw.request("/readyz", { key: null });
    expect(ready.status).toBe(200);
    expect(
      (await ready.json()).checks.find((c: { name: string }) => c.name === "database").ok,
    ).toBe(true);
  });
});
