import type { PipelineDeps } from "./deps.js";
import { finishRun, type GenerationResult } from "./finish.js";
import { checkModelAllowed } from "./model-allow.js";
import { generateStage, type RunRequest, screenPromptStage, startRun } from "./run.js";

export type { GenerationResult, OutputImage } from "./finish.js";
export type { OutputFormat } from "./run.js";

/** A validated request to generate (the HTTP layer has parsed and bounded it). */
export type GenerationRequest = RunRequest;

export type { PipelineStages } from "./stages.js";

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
): Promise<GenerationResult> {
  const run = startRun(deps, request, "generate");
  // The tenant's model allow-list, before any work (a refusal is recorded, then 403).
  await checkModelAllowed(run);

  // 1. Screen the prompt (a refusal is recorded and thrown).
  await screenPromptStage(run);
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
      },
      bounded,
    ),
  );

  // 4-7. Screen the output, watermark, sign, record.
  return finishRun(run, output, { kind: "created" });
}
