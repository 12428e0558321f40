import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { StageRecord } from "../audit/index.js";
import { loadConfig, PACKAGE_ROOT } from "../config/index.js";
import { generations } from "../db/schema.js";
import { testDatabases } from "../db/test-databases.js";
import { HallmarkError } from "../errors/index.js";
import { photo, postEdit } from "../http/routes/images-edits.test-support.js";
import { loadPolicyFile, setTenantPolicy } from "../policy/index.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { createApiKey, createTenant } from "../tenants/index.js";
import {
  BYPASS_NOTE,
  DEFAULT_STAGE_TIMEOUTS,
  stageFailed,
  withStageTimeout,
} from "./stage-failure.js";

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

describe("withStageTimeout", () => {
  it("answers work that finishes in time, and stage_timeout (naming stage and limit) past it", async () => {
    await expect(withStageTimeout("watermark", 1000, async () => 7)).resolves.toBe(7);
    let late: (() => void) | undefined;
    const never = new Promise<void>((resolve) => {
      late = resolve;
    });
    const error = await withStageTimeout("c2pa", 20, () => never).catch((e) => e);
    expect(error).toBeInstanceOf(HallmarkError);
    expect(error).toMatchObject({
      code: "stage_timeout",
      details: { stage: "c2pa", timeout_ms: 20 },
    });
    late?.();
    // Work that fails after it was given up on is dropped, not an unhandled rejection.
    await expect(
      withStageTimeout("screen_output", 5, async () => {
        await new Promise((r) => setTimeout(r, 30));
        throw new Error("late");
      }),
    ).rejects.toMatchObject({ code: "stage_timeout" });
    await new Promise((r) => setTimeout(r, 40));
    // Every stage the policy governs has an explicit default, C2PA under the 60 s seal limit.
    expect(Object.keys(DEFAULT_STAGE_TIMEOUTS).sort()).toEqual([
      "c2pa",
      "screen_input",
      "screen_output",
      "screen_prompt",
      "watermark",
    ]);
    expect(DEFAULT_STAGE_TIMEOUTS.c2pa).toBeLessThan(60_000);
    // The configured limits: the defaults, and a C2PA limit past the recorder's seal limit refused.
    const dataDir = mkdtempSync(path.join(tmpdir(), "hm-cfg-"));
    expect(loadConfig({ HALLMARK_DATA_DIR: dataDir }).stageTimeoutsMs).toEqual(
      DEFAULT_STAGE_TIMEOUTS,
    );
    expect(() =>
      loadConfig({ HALLMARK_DATA_DIR: dataDir, HALLMARK_STAGE_TIMEOUT_C2PA_MS: "60000" }),
    ).toThrow(/HALLMARK_STAGE_TIMEOUT_C2PA_MS/);
    expect(() =>
      loadConfig({ HALLMARK_DATA_DIR: dataDir, HALLMARK_STAGE_TIMEOUT_WATERMARK_MS: "0" }),
    ).toThrow(/HALLMARK_STAGE_TIMEOUT_WATERMARK_MS/);
  });
});

/**
 * Makes `target[method]` wait for `gate` before it does its real work: a stage that hangs. Each
 * call is added to `pending`, so that the work can be let finish before the models are closed.
 */
function hang(
  target: object,
  method: string,
  gate: Promise<void>,
  pending: Array<Promise<unknown>>,
): () => void {
  const t = target as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = t[method]!;
  t[method] = (...args: unknown[]) => {
    const call = gate.then(() => original.apply(target, args));
    pending.push(call);
    return call;
  };
  return () => {
    t[method] = original;
  };
}

const LIMIT_MS = 2000;

/**
 * Time-outs on the real stages: each stage's limit is 2 s (HALLMARK_STAGE_TIMEOUT_*_MS), and a
 * test makes a stage's dependency (the text or image classifier, the watermarker, the signer)
 * hang until the end of the file. What happens next is the tenant's policy: fail closed by
 * default, fail open where it says so.
 */
describe.each(testDatabases())("stages that time out ($name)", (db) => {
  let gw: TestGateway;
  const keys: Record<string, string> = {};
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let restore: Array<() => void> = [];
  const pending: Array<Promise<unknown>> = [];
  const hangStages = (...stages: Array<"text" | "image" | "watermark" | "c2pa">) => {
    const p = gw.runtime.pipeline;
    for (const stage of stages) {
      if (stage === "text") restore.push(hang(p.text, "classify", gate, pending));
      if (stage === "image") restore.push(hang(p.image!, "classify", gate, pending));
      if (stage === "watermark") {
        restore.push(hang(p.watermark!.watermarker, "embed", gate, pending));
      }
      if (stage === "c2pa") restore.push(hang(p.c2pa!, "sign", gate, pending));
    }
  };
  beforeAll(async () => {
    const limit = String(LIMIT_MS);
    gw = await startTestGateway(db, {
      HALLMARK_STAGE_TIMEOUT_SCREEN_PROMPT_MS: limit,
      HALLMARK_STAGE_TIMEOUT_SCREEN_INPUT_MS: limit,
      HALLMARK_STAGE_TIMEOUT_SCREEN_OUTPUT_MS: limit,
      HALLMARK_STAGE_TIMEOUT_WATERMARK_MS: limit,
      HALLMARK_STAGE_TIMEOUT_C2PA_MS: limit,
      HALLMARK_POLICY_CACHE_MS: "0",
    });
    // "other": only the prompt screen may fail open; "open": every stage, marks optional.
    await setOverride(gw, "other", "on_failure: { screen_prompt: open }\n");
    await createTenant(gw.database.db, "open");
    keys.open = (await createApiKey(gw.database.db, { tenant: "open" })).key;
    await setOverride(
      gw,
      "open",
      [
        "marks: { watermark: optional, c2pa: optional }",
        "on_failure: { screen_prompt: open, screen_input: open, screen_output: open, watermark: open, c2pa: open }",
        "",
      ].join("\n"),
    );
  }, 300_000);
  afterEach(() => {
    for (const undo of restore) undo();
    restore = [];
  });
  afterAll(async () => {
    // The hung work runs now (its results were dropped); the models close only once it is done.
    release();
    await Promise.allSettled(pending);
    await gw?.close();
  });

  it("the config carries each stage's limit into the pipeline", () => {
    const each = Object.fromEntries(Object.keys(DEFAULT_STAGE_TIMEOUTS).map((k) => [k, LIMIT_MS]));
    expect(gw.config.stageTimeoutsMs).toEqual(each);
    expect(gw.runtime.pipeline.limits.stageTimeoutMs).toEqual(each);
  });

  it("nothing hangs: every stage runs within its limit and applies", async () => {
    const res = await gw.request("/v1/images/generations", { key: keys.open, json: PROMPT });
    expect(res.status).toBe(200);
    const stages: Stage[] = (await res.json()).hallmark.stages;
    for (const name of ["screen_prompt", "screen_output", "watermark", "c2pa"]) {
      expect(stages.find((s) => s.name === name)?.status).toBe("applied");
    }
  });

  it("fail-closed (default): 503 stage_unavailable naming the stage, no image, recorded", async () => {
    hangStages("text");
    const res = await gw.request("/v1/images/generations", { json: PROMPT });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).not.toBeNull();
    const body = await res.json();
    expect(body.error).toMatchObject({ code: "stage_unavailable", stage: "screen_prompt" });
    expect(body.error.message).toContain("stage_timeout");
    expect(JSON.stringify(body)).not.toContain("b64_json");
    const rows = await failedRows(gw, "screen_prompt");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.stages).toContainEqual(
      expect.objectContaining({ name: "screen_prompt", status: "failed", note: "stage_timeout" }),
    );
  });

  it("a stage the tenant opens is bypassed; the next one, still closed, fails the request", async () => {
    hangStages("text", "image");
    const res = await gw.request("/v1/images/generations", { key: gw.otherKey, json: PROMPT });
    expect(res.status).toBe(503);
    expect((await res.json()).error).toMatchObject({
      code: "stage_unavailable",
      stage: "screen_output",
    });
    const rows = await failedRows(gw, "screen_output");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.params).toMatchObject({
      bypassed: [{ stage: "screen_prompt", error_code: "stage_timeout" }],
    });
  });

  it("fail-open everywhere: the image leaves, each timed-out stage said and audited", async () => {
    hangStages("text", "image", "watermark", "c2pa");
    const res = await gw.request("/v1/images/generations", { key: keys.open, json: PROMPT });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.data).toHaveLength(1);
    const stages: Stage[] = body.hallmark.stages;
    const timedOut = ["screen_prompt", "screen_output", "watermark", "c2pa"];
    for (const name of timedOut) {
      expect(stages.find((s) => s.name === name)).toMatchObject({
        status: "failed",
        note: BYPASS_NOTE,
      });
    }
    const row = await record(gw, body.hallmark.generation_id, keys.open);
    expect(row.params.bypassed).toEqual(
      timedOut.map((stage) => expect.objectContaining({ stage, error_code: "stage_timeout" })),
    );
    const marks = row.images[0].marks.map((m: { kind: string }) => m.kind);
    expect(marks).not.toContain("watermark");
    expect(marks).not.toContain("c2pa");
  });

  it("edits: the input screen's time-out fails closed, or is bypassed where the tenant says", async () => {
    hangStages("image");
    const image = { bytes: await photo(256, 256) };
    const fields = { prompt: "a lighthouse at dusk", size: "256x256", image };
    const closed = await postEdit(gw, fields, { key: gw.otherKey });
    expect(closed.status).toBe(503);
    expect((await closed.json()).error).toMatchObject({
      code: "stage_unavailable",
      stage: "screen_input",
    });
    const open = await postEdit(gw, fields, { key: keys.open });
    expect(open.status).toBe(200);
    const body = await open.json();
    expect(body.hallmark.stages.find((s: Stage) => s.name === "screen_input")).toMatchObject({
      status: "failed",
      note: BYPASS_NOTE,
    });
    const row = await record(gw, body.hallmark.generation_id, keys.open);
    const bypassed = row.params.bypassed.map((b: { stage: string }) => b.stage);
    expect(bypassed).toEqual(["screen_input", "screen_output"]);
  });
});
