import type { GenerateProgress } from "../generate/index.js";
import type { PipelineDeps } from "./deps.js";
import { finishRun, type GenerationResult } from "./finish.js";
import { checkModelAllowed } from "./model-allow.js";
import { generateStage, type RunRequest, screenPromptStage, startRun } from "./run.js";
import { licenceGate, withTenantPolicy } from "./tenant-policy.js";

export type { GenerationResult, OutputImage } from "./finish.js";
export type { OutputFormat } from "./run.js";

/** A validated request to generate (the HTTP layer has parsed and bounded it). */
export type GenerationRequest = RunRequest;

export type { PipelineStages } from "./stages.js";

/** Optional listeners of one generation (the HTTP streaming route). */
export interface GenerateOptions {
  /** Denoising steps, from backends that report them (stage changes: `observeStages`). */
  onProgress?: (progress: GenerateProgress) => void;
}

/**
 * The generation use case, stage by stage: screen the prompt, generate, then the shared tail
 * (finish.ts): screen the output, watermark, sign, record. The audit rows are committed before
 * this returns, so no image leaves without them. A refusal is recorded and then thrown as
 * `content_policy_violation`.
 */
export async function generateImages(
  deps: PipelineDeps,
  request: GenerationRequest,
  signal: AbortSignal,
  options: GenerateOptions = {},
): Promise<GenerationResult> {
  // The tenant's effective policy and declarations decide, record and sign everything below.
  const run = startRun(await withTenantPolicy(deps, request.principal), request, "generate");
  // The tenant's model allow-list, before any work (a refusal is recorded, then 403).
  await checkModelAllowed(run);

  // 1. Screen the prompt (a refusal is recorded and thrown).
  await screenPromptStage(run);
  // The model's licence must permit the tenant's declared use (403 licence_not_permitted).
  await licenceGate(run);
  run.timer.note("screen_input", "skipped", "no input image");

  // 3. Generate, within the backend's concurrency limit and timeout.
  const output = await generateStage(run, signal, (bounded) =>
    deps.generator.generate(
      {
        prompt: request.prompt,
        negativePrompt: request.negativePrompt,
        width: request.width,
        height: request.height,
        n: request.n,
        seed: run.seed,
        model: request.model,
        onProgress: options.onProgress,
      },
      bounded,
    ),
  );

  // 4-7. Screen the output, watermark, sign, record.
  return finishRun(run, output, { kind: "created" });
}
