import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq, sql } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generations } from "../../db/schema.js";
import { testDatabases } from "../../db/test-databases.js";
import { pdqHashEncoded } from "../../provenance/fingerprint/index.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import { maskPng, photo, postEdit } from "./images-edits.test-support.js";

const POLICY = path.join(import.meta.dirname, "../../../policies/default.yaml");

/**
 * One gateway with small input limits, a hash list holding one known picture, and a policy that
 * allows only the placeholder model.
 */
describe.each(testDatabases())("POST /v1/images/edits on $name (errors)", (testDb) => {
  let gw: TestGateway;
  let listed: Buffer;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hm-edits-"));
    const policy = readFileSync(POLICY, "utf8").replace(
      /^models:\n {2}allow: \["\*"\]/m,
      'models:\n  allow: ["hallmark-placeholder"]',
    );
    expect(policy).toContain('allow: ["hallmark-placeholder"]');
    writeFileSync(path.join(dir, "default.yaml"), policy);
    listed = await photo(256, 256, "png", 99);
    const pdq = await pdqHashEncoded(listed);
    writeFileSync(path.join(dir, "list.csv"), `hash,label\n${pdq.hash},known-bad\n`);
    gw = await startTestGateway(testDb, {
      HALLMARK_POLICY_FILE: path.join(dir, "default.yaml"),
      HALLMARK_HASH_LISTS: path.join(dir, "list.csv"),
      HALLMARK_MAX_INPUT_PIXELS: "1000000",
      HALLMARK_MAX_INPUT_BYTES: "400000",
      HALLMARK_MAX_EDIT_IMAGES: "2",
    });
  });
  afterAll(() => gw.close());

  const count = async () =>
    Number((await gw.database.db.select({ n: sql<number>`count(*)` }).from(generations))[0]!.n);
  const expectError = async (res: Response, status: number, code: string, param?: string) => {
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(body.error.code).toBe(code);
    expect(body.error.request_id).toMatch(/^req_/);
    if (param !== undefined) expect(body.error.param).toBe(param);
    return body;
  };

  it("refuses bad input with a 4xx and writes nothing", async () => {
    const before = await count();
    const png = await photo(64, 64);
    const cases: Array<[Record<string, unknown>, number, string, string?]> = [
      [{ prompt: "a cat" }, 400, "invalid_request_error", "image"],
      [{ image: "not a file", prompt: "a cat" }, 400, "invalid_request_error", "image"],
      [
        { image: { bytes: Buffer.from("hello, not an image") }, prompt: "a cat" },
        415,
        "unsupported_media_type",
        "image",
      ],
      [
        { image: { bytes: await sharp(png).gif().toBuffer() }, prompt: "a cat" },
        415,
        "unsupported_media_type",
        "image",
      ],
      [{ image: { bytes: png.subarray(0, 60) }, prompt: "a cat" }, 422, "invalid_image", "image"],
      [{ image: { bytes: Buffer.alloc(0) }, prompt: "a cat" }, 422, "invalid_image", "image"],
      // 1200 × 1200 = 1.44 Mpx, over the 1 Mpx limit (decoded nowhere: the header says so).
      [
        {
          image: {
            bytes: await sharp({
              create: { width: 1200, height: 1200, channels: 3, background: "red" },
            })
              .png()
              .toBuffer(),
          },
          prompt: "a cat",
        },
        413,
        "image_too_large",
        "image",
      ],
      [
        { image: { bytes: Buffer.concat([png, Buffer.alloc(400_001)]) }, prompt: "a cat" },
        413,
        "image_too_large",
        "image",
      ],
      [{ image: { bytes: png }, image2: "x", prompt: "a cat" }, 400, "unknown_parameter", "image2"],
      [{ image: { bytes: png } }, 400, "invalid_request_error", "prompt"],
      [
        { image: { bytes: png }, prompt: "a cat", response_format: "url" },
        400,
        "invalid_request_error",
        "response_format",
      ],
      [{ image: { bytes: png }, prompt: "a cat", n: "many" }, 400, "invalid_request_error", "n"],
      [{ image: { bytes: png }, prompt: "a cat", n: "99" }, 400, "invalid_request_error", "n"],
      [{ image: { bytes: png }, prompt: "a cat", size: "300x300" }, 400, "invalid_size", "size"],
      [
        { image: { bytes: png }, prompt: "a cat", strength: "1.5" },
        400,
        "invalid_request_error",
        "strength",
      ],
      [
        { image: { bytes: png }, prompt: "a cat", stream: "yes" },
        400,
        "invalid_request_error",
        "stream",
      ],
      [
        { image: { bytes: png }, prompt: ["a cat", "a dog"] },
        400,
        "invalid_request_error",
        "prompt",
      ],
      [
        { image: { bytes: png }, prompt: "a cat", mask: "text" },
        400,
        "invalid_request_error",
        "mask",
      ],
      [
        { "image[]": [{ bytes: png }, { bytes: png }, { bytes: png }], prompt: "a cat" },
        400,
        "invalid_request_error",
        "image",
      ],
    ];
    for (const [fields, status, code, param] of cases) {
      await expectError(await postEdit(gw, fields as never), status, code, param);
    }
    expect(await count()).toBe(before);
  });

  it("checks the mask: PNG with alpha, the image's size", async () => {
    const image = await photo(256, 256);
    const hole = { x: 0, y: 0, width: 32, height: 32 };
    const wrongSize = await maskPng(128, 128, hole);
    const noAlpha = await sharp(image).png().toBuffer();
    const jpeg = await sharp(await maskPng(256, 256, hole))
      .jpeg()
      .toBuffer();
    const base = { image: { bytes: image }, prompt: "a lighthouse", size: "256x256" };
    const bad = await expectError(
      await postEdit(gw, { ...base, mask: { bytes: wrongSize } }),
      400,
      "invalid_request_error",
      "mask",
    );
    expect(bad.error.message).toMatch(/128x128.*256x256/);
    await expectError(
      await postEdit(gw, { ...base, mask: { bytes: noAlpha } }),
      400,
      "invalid_request_error",
      "mask",
    );
    await expectError(
      await postEdit(gw, { ...base, mask: { bytes: jpeg, type: "image/jpeg" } }),
      400,
      "invalid_request_error",
      "mask",
    );
  });

  it("a JSON body is 415, an unparseable multipart body 400", async () => {
    await expectError(
      await gw.request("/v1/images/edits", { json: { prompt: "x", image: "aGk=" } }),
      415,
      "unsupported_media_type",
    );
    await expectError(
      await gw.request("/v1/images/edits", {
        method: "POST",
        headers: { "content-type": "multipart/form-data; boundary=zzz" },
        body: '--zzz\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nx',
      }),
      400,
      "invalid_request_error",
    );
  });

  it("refuses an input on the operator's hash list, and records the refusal with its hashes", async () => {
    const res = await postEdit(gw, {
      image: { bytes: listed },
      prompt: "a lighthouse at dusk",
      size: "256x256",
    });
    const body = await expectError(res, 400, "content_policy_violation", "image");
    expect(body.error.rules).toEqual(["hash_list:list"]);
    expect(body.data).toBeUndefined();
    const [row] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, body.error.generation_id));
    expect(row).toMatchObject({ kind: "edit", status: "refused", action: "block" });
    const stages = (row!.stages as Array<{ name: string; status: string }>).map((s) => s.name);
    expect(stages).toContain("screen_input");
    expect(stages).not.toContain("generate");
    const decision = row!.decision as { input: Array<{ pdq: { hash: string } }> };
    expect(decision.input[0]!.pdq.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a prompt before looking at the image (recorded as an edit)", async () => {
    const res = await postEdit(gw, {
      image: { bytes: await photo(64, 64) },
      prompt: "explicit porn of a nude woman",
      size: "256x256",
    });
    const body = await expectError(res, 400, "content_policy_violation", "prompt");
    const [row] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, body.error.generation_id));
    expect(row).toMatchObject({ kind: "edit", status: "refused" });
  });

  it("refuses a model the policy does not allow (403, recorded), for edits and generations", async () => {
    const edit = await postEdit(gw, {
      image: { bytes: await photo(64, 64) },
      prompt: "a lighthouse at dusk",
      size: "256x256",
      model: "sdxl-turbo",
    });
    const body = await expectError(edit, 403, "model_not_allowed", "model");
    expect(body.error.type).toBe("permission_error");
    const [row] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, body.error.generation_id));
    expect(row).toMatchObject({
      kind: "edit",
      status: "refused",
      errorCode: "model_not_allowed",
      model: "sdxl-turbo",
    });
    const gen = await gw.request("/v1/images/generations", {
      json: { prompt: "a lighthouse at dusk", size: "256x256", model: "SDXL-Turbo" },
    });
    const genBody = await expectError(gen, 403, "model_not_allowed", "model");
    const [genRow] = await gw.database.db
      .select()
      .from(generations)
      .where(eq(generations.id, genBody.error.generation_id));
    expect(genRow).toMatchObject({ kind: "generate", status: "refused" });
    // The allowed model (named, case-insensitively) passes.
    const ok = await postEdit(gw, {
      image: { bytes: await photo(64, 64) },
      prompt: "a lighthouse at dusk",
      size: "256x256",
      model: "Hallmark-Placeholder",
    });
    expect(ok.status).toBe(200);
  });

  it("two input images go to a backend that takes one only as 400 edit_not_supported", async () => {
    const png = await photo(64, 64);
    await expectError(
      await postEdit(gw, { "image[]": [{ bytes: png }, { bytes: png }], prompt: "a lighthouse" }),
      400,
      "edit_not_supported",
      "image",
    );
  });
});
