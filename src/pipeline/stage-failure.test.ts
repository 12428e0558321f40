import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StageRecord } from "../audit/index.js";
import { PACKAGE_ROOT } from "../config/index.js";
import { generations } from "../db/schema.js";
import { testDatabases } from "../db/test-databases.js";
import { HallmarkError } from "../errors/index.js";
import { loadPolicyFile, setTenantPolicy } from "../policy/index.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { BYPASS_NOTE, stageFailed } from "./stage-failure.js";

// Stage failures are not about the database: these gateways run on PGlite only.
const [pglite] = testDatabases();
const PROMPT = { prompt: "a lighthouse at dusk", size: "256x256", output_format: "png" };
type Stage = { name: string; status: string; note?: string };

/** The failed rows whose stage `stage` failed closed (the 503 body names no generation). */
async function failedRows(gw: TestGateway, stage: string) {
  const rows = await gw.database.db
    .select()
    .from(generations)
    .where(and(eq(generations.status, "failed"), eq(generations.errorCode, "stage_unavailable")));
  return rows.filter((r) =>
    (r.stages as Stage[]).some(
      (s) => s.name === stage && s.status === "failed" && s.note !== BYPASS_NOTE,
    ),
  );
}

async function setOverride(gw: TestGateway, tenant: string, text: string) {
  await setTenantPolicy(gw.database.db, gw.runtime.policies.base, { tenant, text, author: "test" });
}

async function record(gw: TestGateway, id: string, key = gw.key) {
  return (await gw.request(`/v1/generations/${id}`, { key })).json();
}

describe("stageFailed", () => {
  it("fail-closed: records the failure and throws 503 stage_unavailable; fail-open: bypass, warning", async () => {
    const base = await loadPolicyFile(path.join(PACKAGE_ROOT, "policies/default.yaml"));
    const warnings: unknown[] = [];
    const make = (open: boolean) => {
      const stages: StageRecord[] = [{ name: "watermark", status: "failed", ms: 1, note: "boom" }];
      const params: Record<string, unknown> = {};
      const recorded: unknown[] = [];
      const policy = {
        ...base,
        marks: { ...base.marks, watermark: "optional" as const },
        on_failure: {
          ...base.on_failure,
          watermark: open ? ("open" as const) : ("closed" as const),
        },
      };
      const ctx = {
        policy,
        generationId: "g",
        tenant: "t",
        stages,
        params,
        recordFailure: async (e: unknown) => recorded.push(e),
        logger: { warn: (...a: unknown[]) => warnings.push(a) },
      };
      return { ctx, stages, params, recorded };
    };
    const closed = make(false);
    const error = await stageFailed(closed.ctx, "watermark", new Error("key broke")).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(HallmarkError);
    expect(error).toMatchObject({ code: "stage_unavailable", details: { stage: "watermark" } });
    expect(closed.recorded).toEqual([error]);
    expect(closed.stages[0]!.note).toBe("boom");
    expect(warnings).toEqual([]);

    const open = make(true);
    await stageFailed(open.ctx, "watermark", new HallmarkError("image_too_large", "too big"));
    expect(open.stages[0]).toMatchObject({ status: "failed", note: BYPASS_NOTE });
    expect(open.params.bypassed).toEqual([
      { stage: "watermark", error_code: "image_too_large", message: "too big" },
    ]);
    expect(open.recorded).toEqual([]);
    expect(warnings).toHaveLength(1);
    // A cancelled request is never a stage failure, whatever the policy.
    await expect(
      stageFailed(open.ctx, "watermark", new HallmarkError("request_cancelled", "gone")),
    ).rejects.toMatchObject({ code: "request_cancelled" });
  });
});

describe("a classifier whose model file is wrong (a real ONNX failure at run time)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    const models = mkdtempSync(path.join(tmpdir(), "hm-models-"));
    mkdirSync(path.join(models, "nsfw"));
    // A valid ONNX file, but not the nudity model: it loads, and every run fails on its inputs.
    copyFileSync(
      path.join(PACKAGE_ROOT, "models/text-classifier/model.onnx"),
      path.join(models, "nsfw/nsfw-mobilenet-v2.onnx"),
    );
    gw = await startTestGateway(pglite!, {
      HALLMARK_MODELS_DIR: models,
      HALLMARK_POLICY_CACHE_MS: "0",
    });
    await setOverride(gw, "other", "on_failure: { screen_output: open }\n");
  }, 300_000);
  afterAll(() => gw.close());

  it("fail-closed (default): 503 stage_unavailable, no image, recorded as failed", async () => {
    const res = await gw.request("/v1/images/generations", { json: PROMPT });
    expect(res.status).toBe(503);
    const err = (await res.json()).error;
    expect(err).toMatchObject({ code: "stage_unavailable", stage: "screen_output" });
    expect(JSON.stringify(err)).not.toContain("b64_json");
    const rows = await failedRows(gw, "screen_output");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.stages).toContainEqual(
      expect.objectContaining({ name: "screen_output", status: "failed" }),
    );
  });

  it("fail-open (tenant override): the image leaves, the stage says failed / bypassed, audited", async () => {
    const res = await gw.request("/v1/images/generations", { key: gw.otherKey, json: PROMPT });
    expect(res.status).toBe(200);
    const body = await res.json();
    const stages: Stage[] = body.hallmark.stages;
    expect(stages.find((s) => s.name === "screen_output")).toMatchObject({
      status: "failed",
      note: BYPASS_NOTE,
    });
    expect(stages.find((s) => s.name === "watermark")?.status).toBe("applied");
    expect(body.hallmark.decision.policy.id).toBe("default+other.v1");
    const row = await record(gw, body.hallmark.generation_id, gw.otherKey);
    expect(row.params.bypassed).toEqual([expect.objectContaining({ stage: "screen_output" })]);
    expect(row.stages.find((s: Stage) => s.name === "screen_output").note).toBe(BYPASS_NOTE);
  });
});

describe("images too large for the stages to decode (HALLMARK_MAX_INPUT_PIXELS)", () => {
  let gw: TestGateway;
  let third: string;
  beforeAll(async () => {
    gw = await startTestGateway(pglite!, {
      HALLMARK_MAX_INPUT_PIXELS: "10000",
      HALLMARK_POLICY_CACHE_MS: "0",
    });
    await setOverride(gw, "acme", "on_failure: { screen_output: open }\n");
    await setOverride(
      gw,
      "other",
      "marks: { watermark: optional, c2pa: optional }\non_failure: { screen_output: open, watermark: open, c2pa: open }\n",
    );
    const { createTenant, createApiKey } = await import("../tenants/index.js");
    await createTenant(gw.database.db, "third");
    third = (await createApiKey(gw.database.db, { tenant: "third" })).key;
  }, 300_000);
  afterAll(() => gw.close());

  it("an output screen that cannot decode the image never passes it: 503 by default", async () => {
    const res = await gw.request("/v1/images/generations", { key: third, json: PROMPT });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatchObject({
      code: "stage_unavailable",
      stage: "screen_output",
    });
  });

  it("the watermark fails closed when only the screen may fail open", async () => {
    const res = await gw.request("/v1/images/generations", { json: PROMPT });
    expect(res.status).toBe(503);
    const err = (await res.json()).error;
    expect(err).toMatchObject({ code: "stage_unavailable", stage: "watermark" });
    const rows = await failedRows(gw, "watermark");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.params).toMatchObject({ bypassed: [{ stage: "screen_output" }] });
  });

  it("with every stage open, the image leaves unmarked, each bypass said and audited", async () => {
    const res = await gw.request("/v1/images/generations", { key: gw.otherKey, json: PROMPT });
    expect(res.status).toBe(200);
    const body = await res.json();
    const stages: Stage[] = body.hallmark.stages;
    for (const name of ["screen_output", "watermark"]) {
      expect(stages.find((s) => s.name === name)).toMatchObject({
        status: "failed",
        note: BYPASS_NOTE,
      });
    }
    const row = await record(gw, body.hallmark.generation_id, gw.otherKey);
    const bypassed = row.params.bypassed.map((b: { stage: string }) => b.stage);
    expect(bypassed).toEqual(expect.arrayContaining(["screen_output", "watermark"]));
    expect(row.images[0].marks.some((m: { kind: string }) => m.kind === "watermark")).toBe(false);
  });
});
