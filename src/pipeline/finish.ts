import { type ImageRecord, recordGeneration } from "../audit/index.js";
import { HallmarkError } from "../errors/index.js";
import type { GenerateOutput } from "../generate/index.js";
import { type Decision, decide } from "../policy/index.js";
import type { ImageInput as C2paImageInput } from "../provenance/c2pa/index.js";
import { encodeMarked, encodeOutput } from "./encode-output.js";
import { licenceAudit } from "./licence-audit.js";
import { type PipelineRun, recordFailure, refuse } from "./run.js";
import { type OutputScreen, outputAuditView, screenOutputs } from "./screen-output.js";
import { type SignedImage, signOutputs } from "./stage-c2pa.js";
import { watermarkOutputs } from "./stage-watermark.js";
import type { PipelineStages } from "./stages.js";

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

/**
 * What the C2PA action says: `created` (text-to-image), or `edited` with the input image that
 * becomes the manifest's `parentOf` ingredient (its own credentials kept) and the SHA-256 of every
 * input in Hallmark's generation assertion.
 */
export type ProvenanceAction =
  | { kind: "created" }
  | { kind: "edited"; input: C2paImageInput; inputTitle?: string; inputSha256s: string[] };

/**
 * The stages after generation, shared by every use case that makes images: screen the output
 * (decided together with the earlier screens), the licence audit, watermark, sign, record. The
 * audit rows are committed before this returns, so no image leaves without them; a refusal is
 * recorded and thrown as `content_policy_violation`.
 */
export async function finishRun(
  run: PipelineRun,
  output: GenerateOutput,
  action: ProvenanceAction,
): Promise<GenerationResult> {
  const { deps, request, timer, id } = run;

  // 4. Screen the output images under the same policy.
  let outputScreen: OutputScreen | null = null;
  let finalDecision = run.decision;
  if (deps.image) {
    const classifier = deps.image;
    try {
      outputScreen = await timer.run("screen_output", () =>
        screenOutputs(classifier, output.images),
      );
    } catch (error) {
      await recordFailure(run, error);
      throw error;
    }
    timer.records.at(-1)!.note = outputScreen.note;
    finalDecision = decide(deps.policy, [...run.screens, ...outputScreen.screens]);
    const outputRecord = {
      ...run.decisionRecord,
      ...finalDecision,
      output: outputAuditView(outputScreen),
    };
    if (outputScreen.hashListMatches.length > 0) {
      await refuse(
        run,
        { ...finalDecision, action: "block" },
        { ...outputRecord, action: "block" },
        "output",
        {
          rules: outputScreen.hashListMatches.map((m) => `hash_list:${m.list}`),
        },
      );
    }
    if (finalDecision.action !== "allow") await refuse(run, finalDecision, outputRecord, "output");
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
      await recordFailure(run, error);
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
          action,
        }),
      );
    } catch (error) {
      await recordFailure(run, error);
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
    ...run.base,
    params: { ...run.base.params, licence },
    status: "completed",
    model: output.model.id,
    backend: output.backend,
    action: run.decision.action,
    decision: {
      ...run.decisionRecord,
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
    created: run.created,
    logIndex,
    images,
    decision: finalDecision,
    stages: timer.records,
    model: output.model,
    backend: output.backend,
    placeholder: output.placeholder,
  };
}
