import { randomInt, randomUUID } from "node:crypto";
import { type GenerationRecord, recordGeneration } from "../audit/index.js";
import type { ImageModelVersions } from "../classify/image/index.js";
import { HallmarkError } from "../errors/index.js";
import type { GenerateOutput } from "../generate/index.js";
import { type Decision, decide, publicSummary, type Screen } from "../policy/index.js";
import type { Principal } from "../tenants/index.js";
import type { PipelineDeps } from "./deps.js";
import { promptScreen } from "./policy-check.js";
import { auditView, type PromptScreen, screenPrompt } from "./screen-prompt.js";
import { failStage, timedStage } from "./stage-failure.js";
import { StageTimer } from "./stages.js";

export type OutputFormat = "png" | "jpeg" | "webp";

/** What every request to make images carries (the HTTP layer has parsed and bounded it). */
export interface RunRequest {
  principal: Principal;
  prompt: string;
  negativePrompt?: string;
  n: number;
  width: number;
  height: number;
  seed?: number;
  outputFormat: OutputFormat;
  /** 0-100 for jpeg/webp (OpenAI's output_compression maps onto it). */
  quality?: number;
  model?: string;
  endUser?: string;
  /**
   * The generation id to record under, chosen by the caller (an idempotent retry, an async job):
   * the generations primary key then refuses a second record of the same request.
   */
  id?: string;
  /**
   * The caller can deliver a held request later (202, sealed store): only then does a "review"
   * decision hold instead of refuse (and only with deps.holdForReview).
   */
  allowHold?: boolean;
}

/** The screen an audited refusal is about: it names the request field in the error. */
export type RefusedScreen = "prompt" | "input" | "output";

/**
 * One request to generate or edit on its way through the stages: its ids, stage timer, the
 * audit fields every outcome shares, and the decision so far. Created by `startRun`, then passed
 * to the shared stages (this file and finish.ts), so that generate.ts and edit.ts stay one
 * readable list of stages each.
 */
export interface PipelineRun {
  readonly deps: PipelineDeps;
  readonly request: RunRequest;
  readonly id: string;
  readonly created: number;
  readonly timer: StageTimer;
  /** The seed of the first image: the caller's, or a random one (recorded either way). */
  readonly seed: number;
  /** The fields of the generation row that every outcome (completed, refused, failed) shares. */
  readonly base: Pick<
    GenerationRecord,
    | "id"
    | "tenantId"
    | "apiKeyId"
    | "endUser"
    | "kind"
    | "retention"
    | "prompt"
    | "negativePrompt"
    | "params"
  >;
  /** Screens decided so far (prompt, input images); the output is decided together with them. */
  screens: Screen[];
  decision: Decision;
  /** The decision's whole explanation for the audit row (scores, spans, per-screen views). */
  decisionRecord: Record<string, unknown>;
  /** Held for review (deps.holdForReview): made and recorded, but not returned. */
  held: boolean;
}

/** Starts a run: ids, seed and the audit fields; `params` adds use-case parameters to the row. */
export function startRun(
  deps: PipelineDeps,
  request: RunRequest,
  kind: GenerationRecord["kind"],
  params: Record<string, unknown> = {},
): PipelineRun {
  const id = request.id ?? randomUUID();
  const seed = request.seed ?? randomInt(0, 2 ** 31 - 1);
  return {
    deps,
    request,
    id,
    created: Math.floor(Date.now() / 1000),
    timer: new StageTimer(),
    seed,
    base: {
      id,
      tenantId: request.principal.tenantId,
      apiKeyId: request.principal.apiKeyId,
      endUser: request.endUser ?? null,
      kind,
      retention: deps.policy.prompts.retention,
      prompt: request.prompt,
      negativePrompt: request.negativePrompt,
      params: {
        n: request.n,
        size: `${request.width}x${request.height}`,
        seed,
        output_format: request.outputFormat,
        model: request.model ?? null,
        ...params,
      },
    },
    screens: [],
    decision: decide(deps.policy, []),
    decisionRecord: { screened_by: screeningModels(deps) },
    held: false,
  };
}

/**
 * The exact models that screen this request (files by SHA-256, OCR's settings), kept in the
 * audit row's decision: a decision stays traceable to its models after they change.
 */
export function screeningModels(deps: Pick<PipelineDeps, "text" | "image">): {
  text: string | null;
  image: ImageModelVersions | null;
} {
  return { text: deps.text.modelId ?? null, image: deps.image?.versions ?? null };
}

/** Stage 1: screens the prompt (and records the negative prompt's scores); refuses per policy. */
export async function screenPromptStage(run: PipelineRun): Promise<void> {
  const { deps, request } = run;
  let screen: PromptScreen | null = null;
  try {
    screen = await timedStage(run, "screen_prompt", () =>
      screenPrompt(deps.text, request.prompt, request.negativePrompt),
    );
  } catch (error) {
    // Fail-closed (the default) throws 503; fail-open goes on with no prompt screen, recorded.
    await failStage(run, "screen_prompt", error, (e) => recordFailure(run, e));
  }
  // The prompt with its text and people, so the policy's word, regex and public-figure rules run.
  run.screens = screen ? [promptScreen(deps.text, request.prompt, screen.prompt)] : [];
  run.decision = decide(deps.policy, run.screens);
  run.decisionRecord = {
    ...run.decisionRecord,
    ...run.decision,
    prompt: auditView(screen?.prompt ?? null),
    negativePrompt: auditView(screen?.negativePrompt ?? null),
  };
  if (holds(run, run.decision)) run.held = true;
  else if (run.decision.action !== "allow")
    await refuse(run, run.decision, run.decisionRecord, "prompt");
}

/** A "review" decision holds the request (made, recorded, kept) when the deployment says so. */
export function holds(run: PipelineRun, decision: Decision): boolean {
  return (
    decision.action === "review" &&
    run.deps.holdForReview === true &&
    run.request.allowHold === true
  );
}

const REFUSAL_MESSAGES: Record<RefusedScreen, (verb: string) => string> = {
  prompt: (verb) => `The prompt was ${verb} under the content policy; no image was generated.`,
  input: (verb) => `The input image was ${verb} under the content policy; no image was generated.`,
  output: (verb) =>
    `The generated image was ${verb} under the content policy; no image was returned.`,
};

/** Records the refusal (the audit row and log entry), then throws `content_policy_violation`. */
export async function refuse(
  run: PipelineRun,
  refusal: Decision,
  record: Record<string, unknown>,
  what: RefusedScreen,
  extra: Record<string, unknown> = {},
): Promise<never> {
  const { deps } = run;
  run.timer.records.push({ name: "record", status: "applied", ms: 0 });
  await recordGeneration(deps.db, {
    ...run.base,
    status: "refused",
    model: run.request.model ?? deps.generator.defaultModel,
    backend: deps.generator.name,
    action: refusal.action,
    decision: record,
    stages: run.timer.records,
    errorCode: "content_policy_violation",
    images: [],
  });
  const verb = refusal.action === "review" ? "held for review" : "refused";
  throw new HallmarkError("content_policy_violation", REFUSAL_MESSAGES[what](verb), {
    param: what === "output" ? null : what === "input" ? "image" : "prompt",
    details: { generation_id: run.id, ...publicSummary(refusal), ...extra },
  });
}

/**
 * Records a request refused before any screen decided it (a model the tenant may not use, an
 * edit the backend cannot do), then throws `error`: bad requests are audited too.
 */
export async function refuseRequest(run: PipelineRun, error: HallmarkError): Promise<never> {
  const { deps } = run;
  run.timer.records.push({ name: "record", status: "applied", ms: 0 });
  await recordGeneration(deps.db, {
    ...run.base,
    status: "refused",
    model: run.request.model ?? deps.generator.defaultModel,
    backend: deps.generator.name,
    action: "block",
    decision: { ...run.decisionRecord, refused: { code: error.code, message: error.message } },
    stages: run.timer.records,
    errorCode: error.code,
    images: [],
  });
  throw new HallmarkError(error.code, error.message, {
    param: error.param,
    details: { generation_id: run.id, ...(error.details ?? {}) },
    cause: error.cause,
  });
}

/** A failure is part of the prompt audit too (best effort: the error is what the caller gets). */
export function recordFailure(run: PipelineRun, error: unknown): Promise<void> {
  const { deps } = run;
  return recordGeneration(deps.db, {
    ...run.base,
    status: "failed",
    model: run.request.model ?? deps.generator.defaultModel,
    backend: deps.generator.name,
    action: run.decision.action,
    decision: run.decisionRecord,
    stages: run.timer.records,
    errorCode: (error as { code?: string }).code ?? "internal_error",
    images: [],
  }).then(
    () => {},
    (recordError: unknown) => {
      // The caller's error is what the client gets; a lost failure row must still be seen.
      deps.logger?.error("could not record a failed generation", {
        generation_id: run.id,
        error_code: (error as { code?: string }).code ?? "internal_error",
        cause: recordError instanceof Error ? recordError.message : String(recordError),
      });
    },
  );
}

/**
 * Stage 3: calls the backend within its concurrency limit and timeout. A client that went away
 * is `request_cancelled`, the deadline `backend_timeout`; any failure is recorded, then rethrown.
 */
export async function generateStage(
  run: PipelineRun,
  signal: AbortSignal,
  call: (bounded: AbortSignal) => Promise<GenerateOutput>,
): Promise<GenerateOutput> {
  const { deps } = run;
  try {
    return await run.timer.run("generate", () => {
      const bounded = AbortSignal.any([signal, AbortSignal.timeout(deps.limits.backendTimeoutMs)]);
      return deps.limiter
        .run(bounded, () => call(bounded))
        .catch((error: unknown) => {
          if (signal.aborted) throw new HallmarkError("request_cancelled", "The client went away.");
          if (bounded.aborted) {
            throw new HallmarkError(
              "backend_timeout",
              "The generation backend did not answer in time.",
            );
          }
          throw error;
        });
    });
  } catch (error) {
    await recordFailure(run, error);
    throw error;
  }
}
