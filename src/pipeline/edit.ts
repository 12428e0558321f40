import { HallmarkError } from "../errors/index.js";
import type { EditCapabilities } from "../generate/index.js";
import { backendFor } from "../generate/router.js";
import { decide } from "../policy/index.js";
import type { PipelineDeps } from "./deps.js";
import { type EditInputImage, prepareInputImages, prepareMask } from "./edit-input.js";
import { type InputScreen, inputAuditView, screenInputs } from "./edit-screen.js";
import { finishRun, type GenerationResult } from "./finish.js";
import type { GenerateOptions } from "./generate.js";
import { checkModelAllowed } from "./model-allow.js";
import {
  generateStage,
  holds,
  type PipelineRun,
  type RunRequest,
  recordFailure,
  refuse,
  screenPromptStage,
  startRun,
} from "./run.js";
import { failStage, timedStage } from "./stage-failure.js";
import { licenceGate, withTenantPolicy } from "./tenant-policy.js";

/** A validated request to edit (OpenAI's `images/edits`): a generation request plus its inputs. */
export interface EditRequest extends RunRequest {
  /** The uploaded images as sent (the first is the one edited; more only where the backend takes them). */
  images: Buffer[];
  /** OpenAI's mask: a PNG with alpha, the first image's size; transparent pixels are edited. */
  mask?: Buffer;
  /** How far from the input to move, 0..1 (backends that honour it). */
  strength?: number;
  /**
   * OpenAI's `images/variations`: a new picture like the one input, no prompt (`prompt` is
   * empty and is not screened: the stage says so), recorded as kind `variation`.
   */
  variation?: boolean;
}

/**
 * Refuses, before any work, what the backend cannot do: no `edit` at all, a mask, several
 * images or a strength it would drop. `edit_not_supported` (400) names the field.
 */
export function checkEditSupported(deps: PipelineDeps, request: EditRequest): EditCapabilities {
  const generator = backendFor(deps.generator, request.model);
  if (!generator.edit) {
    throw new HallmarkError(
      "edit_not_supported",
      `The '${generator.name}' backend does not ${request.variation ? "make variations of" : "edit"} images; use /v1/images/generations, or configure a backend with edits (docs/backends.md).`,
      { param: "image" },
    );
  }
  const caps = generator.editCapabilities ?? { mask: false, maxImages: 1, strength: false };
  const refuse = (param: string, what: string) => {
    throw new HallmarkError(
      "edit_not_supported",
      `The '${generator.name}' backend does not support ${what}.`,
      { param },
    );
  };
  if (request.mask && !caps.mask) refuse("mask", "masks (inpainting)");
  if (request.images.length > caps.maxImages) {
    refuse("image", `more than ${caps.maxImages} input image${caps.maxImages === 1 ? "" : "s"}`);
  }
  if (request.strength !== undefined && !caps.strength) refuse("strength", "strength");
  return caps;
}

/**
 * The edit use case, stage by stage: check the inputs (bad input is a 4xx and writes nothing),
 * the model allow-list, screen the prompt, screen the input images (nudity, text, hash lists,
 * faces → the policy's rule for photos of real people), edit with the backend, then the shared tail
 * (finish.ts): screen the output, watermark, sign with the input as the `parentOf` ingredient
 * (`c2pa.opened` + `c2pa.edited`), record. The audit row keeps each input's SHA-256 and PDQ
 * hash, never its bytes.
 */
export async function editImages(
  deps: PipelineDeps,
  request: EditRequest,
  signal: AbortSignal,
  options: GenerateOptions = {},
): Promise<GenerationResult> {
  if (request.images.length === 0) {
    throw new HallmarkError("invalid_request_error", "Send the image to edit in 'image'.", {
      param: "image",
    });
  }
  checkEditSupported(deps, request);
  const size = { width: request.width, height: request.height };
  // Each file's byte size is bounded where it is received (the route: HALLMARK_MAX_INPUT_BYTES).
  const limits = {
    maxInputPixels: deps.limits.maxInputPixels,
    maxInputBytes: Number.POSITIVE_INFINITY,
  };
  const inputs = await prepareInputImages(request.images, size, limits);
  const mask = request.mask ? await prepareMask(request.mask, inputs[0]!, size, limits) : undefined;

  const kind = request.variation ? "variation" : "edit";
  const run = startRun(await withTenantPolicy(deps, request.principal), request, kind, {
    strength: request.strength ?? null,
    inputs: inputs.map((i) => ({ sha256: i.sha256, media_type: i.mediaType })),
    mask: mask ? { sha256: mask.sha256 } : null,
  });
  await checkModelAllowed(run);

  // 1. Screen the prompt (a refusal is recorded and thrown); a variation has none.
  if (request.variation) noPromptStage(run);
  else await screenPromptStage(run);
  await licenceGate(run);

  // 2. Screen the input images under the same policy.
  await screenInputStage(run, inputs);

  // 3. Edit, within the backend's concurrency limit and timeout.
  const edit = deps.generator.edit!.bind(deps.generator);
  const output = await generateStage(run, signal, (bounded) =>
    edit(
      {
        prompt: request.prompt,
        negativePrompt: request.negativePrompt,
        width: request.width,
        height: request.height,
        n: request.n,
        seed: run.seed,
        model: request.model,
        image: inputs[0]!.normalised,
        ...(inputs.length > 1 ? { references: inputs.slice(1).map((i) => i.normalised) } : {}),
        ...(mask ? { mask: mask.normalised } : {}),
        ...(request.strength !== undefined ? { strength: request.strength } : {}),
        ...(request.variation ? { variation: true } : {}),
        onProgress: options.onProgress,
      },
      bounded,
    ),
  );

  // 4-7. Screen the output, watermark, sign (the input as parent ingredient), record.
  const parent = inputs[0]!;
  return finishRun(run, output, {
    kind: "edited",
    input: { bytes: parent.original, mediaType: parent.mediaType },
    inputTitle: `input.${parent.mediaType.slice("image/".length)}`,
    inputSha256s: inputs.map((i) => i.sha256),
  });
}

/**
 * Stage 1 of a variation: there is no prompt to screen, so the decision starts from nothing and
 * the input screen (stage 2) is what decides; the response and the audit row say so.
 */
function noPromptStage(run: PipelineRun): void {
  run.timer.note("screen_prompt", "skipped", "a variation has no prompt");
  run.screens = [];
  run.decision = decide(run.deps.policy, []);
  run.decisionRecord = {
    ...run.decisionRecord,
    ...run.decision,
    prompt: null,
    negativePrompt: null,
  };
}

/**
 * Stage 2: the input screen. Decided together with the prompt; a hash-list match blocks; an
 * input with a face gets the policy's rule for photos of real people (`faces.input_with_face`,
 * default review), when the classifier detects faces.
 */
async function screenInputStage(run: PipelineRun, inputs: EditInputImage[]): Promise<void> {
  const { deps, timer } = run;
  if (!deps.image) {
    timer.note("screen_input", "absent", "image classifiers are not configured");
    run.decisionRecord = { ...run.decisionRecord, input: inputAuditView(inputs, null) };
    return;
  }
  const classifier = deps.image;
  let screen: InputScreen;
  try {
    screen = await timedStage(run, "screen_input", () =>
      screenInputs(classifier, deps.policy, inputs),
    );
  } catch (error) {
    // Fail-closed (the default) throws 503; fail-open goes on unscreened, the bypass recorded.
    await failStage(run, "screen_input", error, (e) => recordFailure(run, e));
    run.decisionRecord = { ...run.decisionRecord, input: inputAuditView(inputs, null) };
    return;
  }
  timer.records.at(-1)!.note = screen.note;
  run.screens = [...run.screens, ...screen.screens];
  run.decision = decide(deps.policy, run.screens);
  run.decisionRecord = {
    ...run.decisionRecord,
    ...run.decision,
    input: inputAuditView(inputs, screen),
  };
  if (screen.hashListMatches.length > 0) {
    await refuse(
      run,
      { ...run.decision, action: "block" },
      { ...run.decisionRecord, action: "block" },
      "input",
      { rules: screen.hashListMatches.map((m) => `hash_list:${m.list}`) },
    );
  }
  // A review decision (an input photo with a face, by default) holds the edit where the
  // request can be held: made, recorded and kept for a reviewer, as a prompt held for review is.
  if (holds(run, run.decision)) run.held = true;
  else if (run.decision.action !== "allow") {
    await refuse(run, run.decision, run.decisionRecord, "input");
  }
}
