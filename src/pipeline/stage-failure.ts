import type { StageRecord } from "../audit/index.js";
import { HallmarkError } from "../errors/index.js";
import type { Logger } from "../log/index.js";
import type { Policy } from "../policy/index.js";
import type { PipelineRun } from "./run.js";

/** The stages whose failure the policy decides (`on_failure` in policies/*.yaml). */
export type FailureStage =
  | "screen_prompt"
  | "screen_input"
  | "screen_output"
  | "watermark"
  | "c2pa";

/** Each stage's time limit in ms (HALLMARK_STAGE_TIMEOUT_<STAGE>_MS, src/config). */
export type StageTimeouts = Record<FailureStage, number>;

/**
 * The limits when none are configured (the config schema's defaults). C2PA stays under the
 * recorder's 60 s seal limit, so that a hung signer is the policy's to decide, not the recorder's.
 */
export const DEFAULT_STAGE_TIMEOUTS: StageTimeouts = {
  screen_prompt: 15_000,
  screen_input: 60_000,
  screen_output: 60_000,
  watermark: 60_000,
  c2pa: 30_000,
};

/** One stage that did not run and was let through (fail-open), as the audit row keeps it. */
export interface StageBypass {
  stage: FailureStage;
  error_code: string;
  message: string;
}

/** The note a bypassed stage carries in the response's and the audit row's stages. */
export const BYPASS_NOTE = "bypassed: fail-open";

/** Errors that are the caller's or the client's doing: never a stage failure, never bypassed. */
const PASS_THROUGH = new Set([
  "request_cancelled",
  "request_timeout",
  "shutting_down",
  "prompt_too_long",
  "invalid_request_error",
  "database_unavailable",
]);

const WHAT: Record<FailureStage, string> = {
  screen_prompt: "The prompt could not be screened",
  screen_input: "The input image could not be screened",
  screen_output: "The generated image could not be screened",
  watermark: "The watermark could not be applied",
  c2pa: "The C2PA manifest could not be signed",
};

export interface StageFailureContext {
  policy: Policy;
  generationId: string;
  tenant: string;
  /** The stage records so far (the failed stage's record is marked as bypassed). */
  stages: StageRecord[];
  /** The audit row's params: a bypass is recorded in `params.bypassed`. */
  params: Record<string, unknown>;
  /** Records the request as failed (best effort), before the error is thrown. */
  recordFailure: (error: unknown) => Promise<unknown>;
  logger?: Pick<Logger, "warn">;
}

/**
 * Runs a stage's work within its time limit. Past the limit this throws `stage_timeout`, which
 * `stageFailed` treats like any other error of the stage (fail-closed unless the policy says
 * open). The work itself cannot be interrupted (an ONNX run, a worker thread): it finishes in
 * the background and its result is dropped, so nothing it produced is ever used or returned.
 */
export async function withStageTimeout<T>(
  stage: FailureStage,
  ms: number | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const limit = ms ?? DEFAULT_STAGE_TIMEOUTS[stage];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new HallmarkError("stage_timeout", `${stage} did not finish within ${limit} ms`, {
            details: { stage, timeout_ms: limit },
          }),
        ),
      limit,
    );
  });
  const running = work();
  // A late failure of work already given up on must not surface as an unhandled rejection.
  running.catch(() => {});
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `work` as stage `stage` of a run: timed (the stage record), within the stage's
 * configured time limit (`deps.limits.stageTimeoutMs`).
 *
 * @example const screen = await timedStage(run, "screen_output", () => screenOutputs(...));
 */
export function timedStage<T>(
  run: Pick<PipelineRun, "deps" | "timer">,
  stage: FailureStage,
  work: () => Promise<T>,
): Promise<T> {
  const ms = run.deps.limits.stageTimeoutMs?.[stage];
  return run.timer.run(stage, () => withStageTimeout(stage, ms, work));
}

/**
 * What a stage's error or time-out (`stage_timeout`) does to the request, as the policy says
 * (`on_failure.<stage>`):
 * - `closed` (the default): the failure is recorded and the request fails with
 *   `stage_unavailable` (503): no image leaves;
 * - `open`: the stage is reported `failed` with the note "bypassed: fail-open", the bypass is
 *   added to the audit row (`params.bypassed`) and logged as a warning, and this returns so the
 *   caller goes on without the stage. A stage that could not scan is never reported as passed.
 * The caller's own errors (cancelled, too long, database down) are recorded and rethrown as is.
 *
 * @example
 * } catch (error) {
 *   await stageFailed(ctx, "watermark", error); // throws unless the policy lets it fail open
 *   encoded = await encodeUnmarked(...);
 * }
 */
export async function stageFailed(
  ctx: StageFailureContext,
  stage: FailureStage,
  error: unknown,
): Promise<void> {
  const code = (error as { code?: string }).code ?? "error";
  if (PASS_THROUGH.has(code)) {
    await ctx.recordFailure(error);
    throw error;
  }
  let record = [...ctx.stages].reverse().find((r) => r.name === stage);
  if (record?.status !== "failed") {
    record = { name: stage, status: "failed", ms: 0, note: code };
    ctx.stages.push(record);
  }
  if (ctx.policy.on_failure[stage] !== "open") {
    const failure = new HallmarkError(
      "stage_unavailable",
      `${WHAT[stage]} (${code}); under the policy it fails closed, so no image was returned. Retry later.`,
      { details: { stage }, cause: error },
    );
    await ctx.recordFailure(failure);
    throw failure;
  }
  record.status = "failed";
  record.note = BYPASS_NOTE;
  const bypass: StageBypass = {
    stage,
    error_code: code,
    message: error instanceof Error ? error.message.slice(0, 500) : String(error).slice(0, 500),
  };
  const list = (ctx.params.bypassed as StageBypass[] | undefined) ?? [];
  list.push(bypass);
  ctx.params.bypassed = list;
  ctx.logger?.warn("stage bypassed under the policy's fail-open setting", {
    generation_id: ctx.generationId,
    tenant: ctx.tenant,
    stage,
    error_code: code,
    policy: ctx.policy.id,
    policy_hash: ctx.policy.hash,
  });
}

/**
 * `stageFailed` for a pipeline run: the run's policy, ids, stage records, audit params and
 * logger; `record` records the failed request (a no-op where the caller records it itself).
 */
export function failStage(
  run: Pick<PipelineRun, "deps" | "id" | "request" | "timer" | "base">,
  stage: FailureStage,
  error: unknown,
  record: (error: unknown) => Promise<unknown>,
): Promise<void> {
  return stageFailed(
    {
      policy: run.deps.policy,
      generationId: run.id,
      tenant: run.request.principal.tenantName,
      stages: run.timer.records,
      params: run.base.params,
      recordFailure: record,
      logger: run.deps.logger,
    },
    stage,
    error,
  );
}
