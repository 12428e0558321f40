import { createRecorder, type ImageRecord } from "../audit/index.js";
import { HallmarkError } from "../errors/index.js";
import type { GenerateOutput } from "../generate/index.js";
import { type Decision, decide } from "../policy/index.js";
import type { ImageInput as C2paImageInput } from "../provenance/c2pa/index.js";
import { encodeMarked, encodeOutput } from "./encode-output.js";
import { licenceAudit, licenceRefusal, licenceSummary } from "./licence-audit.js";
import { holds, type PipelineRun, recordFailure, refuse, refuseRequest } from "./run.js";
import {
  type DecodedOutput,
  decodeOutputs,
  type OutputScreen,
  outputAuditView,
  screenOutputs,
} from "./screen-output.js";
import { type SignedImage, signOutputs } from "./stage-c2pa.js";
import { failStage, timedStage } from "./stage-failure.js";
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

/** The error code a held generation is recorded with (status refused, action review). */
export const HELD_FOR_REVIEW = "held_for_review";

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
  /** The licence audit's verdict and the output terms (also in the audit row and manifest). */
  licence?: Record<string, unknown>;
  /** Held for review: recorded, but the images must not be returned (docs/async.md). */
  held?: boolean;
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
  // The outputs with their pixels once the screen has decoded them (the watermark reuses them).
  let outputs: DecodedOutput[] = output.images;
  if (deps.image) {
    const classifier = deps.image;
    try {
      outputScreen = await timedStage(run, "screen_output", async () => {
        outputs = await decodeOutputs(output.images, deps.limits.maxInputPixels);
        return screenOutputs(classifier, outputs, deps.policy);
      });
    } catch (error) {
      // Fail-closed (the default) throws 503; fail-open decides on the earlier screens alone.
      await failStage(run, "screen_output", error, (e) => recordFailure(run, e));
    }
  }
  if (outputScreen) {
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
    if (holds(run, finalDecision)) run.held = true;
    else if (finalDecision.action !== "allow")
      await refuse(run, finalDecision, outputRecord, "output");
  } else if (!deps.image) {
    timer.note("screen_output", "absent", "image classifiers are not configured");
  }

  // The licence audit: under which licence the output is made and handed over.
  const licence = licenceAudit(
    deps.licences,
    deps.policy,
    output.model.id,
    finalDecision.fired,
    deps.declared ?? null,
  );
  // The backend may report another model than the one asked for: its licence decides too.
  if (licence.verdict && !licence.verdict.allowed) {
    run.base.params.licence = licence;
    await refuseRequest(run, licenceRefusal(licence));
  }

  // 5. Watermark every output (before signing: the manifest binds the marked bytes).
  let encoded: OutputImage[];
  let softBindings: Array<{ alg: string; value: string } | undefined> | undefined;
  const markIds: Array<string | null> = [];
  if (deps.watermark) {
    const wm = deps.watermark;
    try {
      const marked = await timedStage(run, "watermark", () =>
        watermarkOutputs(wm.watermarker, wm.issuerKeyId, outputs, deps.limits.maxInputPixels),
      );
      softBindings = marked.map((m) => m.softBinding);
      encoded = await timer.run("encode", () =>
        encodeMarked(marked, output.images, request.outputFormat, request.quality),
      );
      markIds.push(...marked.map((m) => m.markId));
    } catch (error) {
      // Fail-closed (the default) throws 503; fail-open delivers the images unmarked, recorded.
      await failStage(run, "watermark", error, (e) => recordFailure(run, e));
      softBindings = undefined;
      markIds.length = 0;
      encoded = await encodeAll(run, output.images);
    }
  } else {
    timer.note("watermark", "absent", "the invisible watermark is not configured");
    encoded = await encodeAll(run, output.images);
  }

  // 6–7. Sign and record. The recorder reserves this request's audit-log index first, so the
  // C2PA manifest names its log entry; signing runs while the index is held (requests arriving
  // together are sealed in parallel and committed in one transaction), and the rows commit
  // before any byte is returned. A signing failure is recorded as a failed request at its index.
  const recordStarted = performance.now();
  let images: Array<OutputImage | SignedImage> = encoded;
  if (!deps.c2pa) timer.note("c2pa", "absent", "C2PA signing is not configured");
  const toRecords = (list: Array<OutputImage | SignedImage>): ImageRecord[] =>
    list.map((image, index) => ({
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
  const seal = async (logIndex: number) => {
    if (deps.c2pa) {
      const c2pa = deps.c2pa;
      try {
        images = await timedStage(run, "c2pa", () =>
          signOutputs(c2pa, deps.policy, encoded, {
            generationId: id,
            prompt: request.prompt,
            model: output.model,
            auditUrl: `${deps.publicUrl}/v1/generations/${id}`,
            version: deps.version,
            softBindings,
            licence: licence.statement,
            action,
            log: { index: logIndex, origin: deps.logOrigin },
          }),
        );
      } catch (error) {
        const failure =
          error instanceof HallmarkError
            ? error
            : new HallmarkError(
                "signing_failed",
                "The C2PA manifest could not be signed; no image was returned.",
                { cause: error },
              );
        // The policy decides: fail closed (this throws, and the recorder records the request
        // as failed at its index) or fail open (deliver unsigned, the bypass audited). No
        // separate failure record here: the sequencer lock is held by this very record.
        await failStage(run, "c2pa", failure, async () => {});
        images = encoded;
      }
    }
    return {
      images: toRecords(images),
      stages: [...timer.records],
      params: { ...run.base.params, licence },
    };
  };
  const recorder = deps.recorder ?? createRecorder(deps.db);
  const { logIndex } = await recorder.record(
    {
      ...run.base,
      params: { ...run.base.params, licence },
      // A hold is recorded as a refusal a reviewer can lift (the review workspace's queue).
      status: run.held ? "refused" : "completed",
      errorCode: run.held ? HELD_FOR_REVIEW : null,
      model: output.model.id,
      backend: output.backend,
      action: run.decision.action,
      decision: {
        ...run.decisionRecord,
        ...finalDecision,
        output: outputScreen ? outputAuditView(outputScreen) : null,
        generator: { ...output.model, parameters: output.parameters },
      },
      stages: [...timer.records],
      images: [],
    },
    seal,
  );
  const signMs = timer.records.find((r) => r.name === "c2pa" && r.status === "applied")?.ms ?? 0;
  timer.records.push({
    name: "record",
    status: "applied",
    ms: Math.round((performance.now() - recordStarted - signMs) * 100) / 100,
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
    licence: licenceSummary(licence),
    held: run.held,
  };
}

/** Encodes unmarked outputs in the requested format, timed as the `encode` stage. */
function encodeAll(run: PipelineRun, images: GenerateOutput["images"]): Promise<OutputImage[]> {
  const { request } = run;
  return run.timer.run("encode", () =>
    Promise.all(images.map((image) => encodeOutput(image, request.outputFormat, request.quality))),
  );
}
