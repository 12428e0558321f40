import { randomInt, randomUUID } from "node:crypto";
import { type ImageRecord, recordGeneration } from "../audit/index.js";
import { HallmarkError } from "../errors/index.js";
import type { GenerateOutput } from "../generate/index.js";
import { type Decision, decide, publicSummary } from "../policy/index.js";
import type { Principal } from "../tenants/index.js";
import type { PipelineDeps } from "./deps.js";
import { encodeMarked, encodeOutput } from "./encode-output.js";
import { licenceAudit } from "./licence-audit.js";
import { type OutputScreen, outputAuditView, screenOutputs } from "./screen-output.js";
import { auditView, screenPrompt } from "./screen-prompt.js";
import { type SignedImage, signOutputs } from "./stage-c2pa.js";
import { watermarkOutputs } from "./stage-watermark.js";
import { StageTimer } from "./stages.js";

export type OutputFormat = "png" | "jpeg" | "webp";

/** A validated request to generate (the HTTP layer has parsed and bounded it). */
export interface GenerationRequest {
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
}

export interface OutputImage {
  bytes: Buffer;
  mediaType: string;
  sha256: string;
  width: number;
  height: number;
  seed: number;
  marks: unknown[];
}

export interface GenerationResult {
  id: string;
  /** Index of this request's entry in the tamper-evident audit log. */
  logIndex: number;
  created: number;
  images: Array<OutputImage | SignedImage>;
  decision: Decision;
  stages: PipelineStages;
  model: { id: string; version: string };
  backend: string;
  placeholder: boolean;
}

export type PipelineStages = StageTimer["records"];

/**
 * The generation use case, stage by stage: screen the prompt, generate, screen the output,
 * watermark, sign, record. The audit rows are committed before this returns, so no image leaves
 * without them. A refusal is recorded and then thrown as `content_policy_violation`.
 */
export async function generateImages(
  deps: PipelineDeps,
  request: GenerationRequest,
  signal: AbortSignal,
): Promise<GenerationResult> {
  const id = randomUUID();
  const created = Math.floor(Date.now() / 1000);
  const timer = new StageTimer();
  const seed = request.seed ?? randomInt(0, 2 ** 31 - 1);
  const retention = deps.policy.prompts.retention;
  const base = {
    id,
    tenantId: request.principal.tenantId,
    apiKeyId: request.principal.apiKeyId,
    endUser: request.endUser ?? null,
    kind: "generate" as const,
    retention,
    prompt: request.prompt,
    negativePrompt: request.negativePrompt,
    params: {
      n: request.n,
      size: `${request.width}x${request.height}`,
      seed,
      output_format: request.outputFormat,
      model: request.model ?? null,
    } as Record<string, unknown>,
  };

  // 1. Screen the prompt.
  const screen = await timer.run("screen_prompt", () =>
    screenPrompt(deps.text, request.prompt, request.negativePrompt),
  );
  const decision = decide(deps.policy, [{ screen: "prompt", scores: screen.prompt.scores }]);
  const decisionRecord = {
    ...decision,
    prompt: auditView(screen.prompt),
    negativePrompt: auditView(screen.negativePrompt),
  };
  timer.note("screen_input", "skipped", "no input image");

  /** Records the refusal, then throws it as `content_policy_violation`. */
  const refuse = async (
    refusal: Decision,
    record: Record<string, unknown>,
    what: "prompt" | "output",
    extra: Record<string, unknown> = {},
  ): Promise<never> => {
    timer.records.push({ name: "record", status: "applied", ms: 0 });
    await recordGeneration(deps.db, {
      ...base,
      status: "refused",
      model: request.model ?? deps.generator.defaultModel,
      backend: deps.generator.name,
      action: refusal.action,
      decision: record,
      stages: timer.records,
      errorCode: "content_policy_violation",
      images: [],
    });
    const verb = refusal.action === "review" ? "held for review" : "refused";
    throw new HallmarkError(
      "content_policy_violation",
      what === "prompt"
        ? `The prompt was ${verb} under the content policy; no image was generated.`
        : `The generated image was ${verb} under the content policy; no image was returned.`,
      {
        param: what === "prompt" ? "prompt" : null,
        details: { generation_id: id, ...publicSummary(refusal), ...extra },
      },
    );
  };

  if (decision.action !== "allow") await refuse(decision, decisionRecord, "prompt");

  /** A failure is part of the prompt audit too (best effort: the error is what the caller gets). */
  const recordFailure = (error: unknown) =>
    recordGeneration(deps.db, {
      ...base,
      status: "failed",
      model: request.model ?? deps.generator.defaultModel,
      backend: deps.generator.name,
      action: decision.action,
      decision: decisionRecord,
      stages: timer.records,
      errorCode: (error as { code?: string }).code ?? "internal_error",
      images: [],
    }).catch(() => {});

  // 3. Generate, within the backend's concurrency limit and timeout.
  let output: GenerateOutput;
  try {
    output = await timer.run("generate", () => {
      const bounded = AbortSignal.any([signal, AbortSignal.timeout(deps.limits.backendTimeoutMs)]);
      return deps.limiter
        .run(bounded, () =>
          deps.generator.generate(
            {
              prompt: request.prompt,
              negativePrompt: request.negativePrompt,
              width: request.width,
              height: request.height,
              n: request.n,
              seed,
              model: request.model,
            },
            bounded,
          ),
        )
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
    await recordFailure(error);
    throw error;
  }

  // 4. Screen the output images under the same policy.
  let outputScreen: OutputScreen | null = null;
  let finalDecision = decision;
  if (deps.image) {
    const classifier = deps.image;
    try {
      outputScreen = await timer.run("screen_output", () =>
        screenOutputs(classifier, output.images),
      );
    } catch (error) {
      await recordFailure(error);
      throw error;
    }
    timer.records.at(-1)!.note = outputScreen.note;
    finalDecision = decide(deps.policy, [
      { screen: "prompt", scores: screen.prompt.scores },
      ...outputScreen.screens,
    ]);
    const outputRecord = {
      ...decisionRecord,
      ...finalDecision,
      output: outputAuditView(outputScreen),
    };
    if (outputScreen.hashListMatches.length > 0) {
      await refuse(
        { ...finalDecision, action: "block" },
        { ...outputRecord, action: "block" },
        "output",
        {
          rules: outputScreen.hashListMatches.map((m) => `hash_list:${m.list}`),
        },
      );
    }
    if (finalDecision.action !== "allow") await refuse(finalDecision, outputRecord, "output");
  } else {
    timer.note("screen_output", "absent", "image classifiers are not configured");
  }

  // The licence audit: under which licence the output is made and handed over.
  const licence = licenceAudit(deps.licences, deps.policy, output.model.id, finalDecision.fired);

  // 5. Watermark every output (before signing: the manifest binds the marked bytes).
  let encoded: OutputImage[];
  let softBindings: Array<{ alg: string; value: string } | undefined> | undefined;
  const markIds: Array<string | null> = [];
  if (deps.watermark) {
    const wm = deps.watermark;
    try {
      const marked = await timer.run("watermark", () =>
        watermarkOutputs(wm.watermarker, wm.issuerKeyId, output.images, deps.limits.maxInputPixels),
      );
      softBindings = marked.map((m) => m.softBinding);
      encoded = await encodeMarked(marked, output.images, request.outputFormat, request.quality);
      markIds.push(...marked.map((m) => m.markId));
    } catch (error) {
      await recordFailure(error);
      throw error instanceof HallmarkError
        ? error
        : new HallmarkError(
            "watermark_failed",
            "The watermark could not be applied; no image was returned.",
            {
              cause: error,
            },
          );
    }
  } else {
    timer.note("watermark", "absent", "the invisible watermark is not configured");
    encoded = await Promise.all(
      output.images.map((image) => encodeOutput(image, request.outputFormat, request.quality)),
    );
  }

  // 6. Sign C2PA manifests: last, because it binds the final bytes.
  let images: Array<OutputImage | SignedImage> = encoded;
  if (deps.c2pa) {
    const c2pa = deps.c2pa;
    try {
      images = await timer.run("c2pa", () =>
        signOutputs(c2pa, deps.policy, encoded, {
          generationId: id,
          prompt: request.prompt,
          model: output.model,
          auditUrl: `${deps.publicUrl}/v1/generations/${id}`,
          version: deps.version,
          softBindings,
          licence: licence.statement,
        }),
      );
    } catch (error) {
      await recordFailure(error);
      throw error instanceof HallmarkError
        ? error
        : new HallmarkError(
            "signing_failed",
            "The C2PA manifest could not be signed; no image was returned.",
            {
              cause: error,
            },
          );
    }
  } else {
    timer.note("c2pa", "absent", "C2PA signing is not configured");
  }

  // 7. Record, before any byte is returned.
  const recordStarted = performance.now();
  const imageRecords: ImageRecord[] = images.map((image, index) => ({
    index,
    sha256: image.sha256,
    mediaType: image.mediaType,
    width: image.width,
    height: image.height,
    bytes: image.bytes.length,
    seed: image.seed,
    marks: image.marks,
    c2paManifest: "c2paManifest" in image ? image.c2paManifest : null,
    c2paLabel: "c2paLabel" in image ? image.c2paLabel : null,
    watermarkMarkId: markIds[index] ?? null,
    pdqHash: outputScreen?.results[index]?.pdq.hash ?? null,
    pdqQuality: outputScreen?.results[index]?.pdq.quality ?? null,
  }));
  const stagesForRow = [...timer.records];
  const { logIndex } = await recordGeneration(deps.db, {
    ...base,
    params: { ...base.params, licence },
    status: "completed",
    model: output.model.id,
    backend: output.backend,
    action: decision.action,
    decision: {
      ...decisionRecord,
      ...finalDecision,
      output: outputScreen ? outputAuditView(outputScreen) : null,
      generator: { ...output.model, parameters: output.parameters },
    },
    stages: stagesForRow,
    images: imageRecords,
  });
  timer.records.push({
    name: "record",
    status: "applied",
    ms: Math.round((performance.now() - recordStarted) * 100) / 100,
  });

  deps.onRecorded?.();
  return {
    id,
    created,
    logIndex,
    images,
    decision: finalDecision,
    stages: timer.records,
    model: output.model,
    backend: output.backend,
    placeholder: output.placeholder,
  };
}
