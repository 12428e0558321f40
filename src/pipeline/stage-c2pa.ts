import { sha256Hex } from "../audit/index.js";
import type { Policy } from "../policy/index.js";
import type { C2pa, C2paMediaType, ManifestSpec } from "../provenance/c2pa/index.js";
import type { OutputImage, ProvenanceAction } from "./finish.js";

export interface C2paStageInput {
  generationId: string;
  prompt: string;
  model: { id: string; version: string };
  auditUrl: string;
  version: string;
  softBindings?: Array<{ alg: string; value: string } | undefined>;
  /** The licence statement for the output (from the licence audit). */
  licence: { name: string; url: string; usageTerms?: string };
  /** `created`, or `edited` with the input image (the parent ingredient); default `created`. */
  action?: ProvenanceAction;
  /** The request's audit-log entry, reserved before signing (see src/audit/recorder.ts). */
  log?: { index: number; origin?: string };
}

/** A signed image and what the image row keeps of its manifest. */
export interface SignedImage extends OutputImage {
  c2paManifest: Buffer;
  c2paLabel: string;
}

const EXTENSIONS: Record<C2paMediaType, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
};

/**
 * Signs every output with a C2PA manifest (the last stage that touches the bytes, after the
 * watermark) and returns the new bytes and their hash. A failure rejects: no unsigned image
 * leaves when the policy requires credentials.
 */
export async function signOutputs(
  c2pa: C2pa,
  policy: Policy,
  images: OutputImage[],
  input: C2paStageInput,
): Promise<SignedImage[]> {
  return Promise.all(
    images.map(async (image, index) => {
      const mediaType = image.mediaType as C2paMediaType;
      const use = policy.manifest.training_mining;
      const spec: ManifestSpec = {
        title: `${input.generationId}-${index}.${EXTENSIONS[mediaType]}`,
        generatorVersion: input.version,
        model: { name: input.model.id, version: input.model.version },
        action:
          input.action?.kind === "edited"
            ? {
                kind: "edited",
                input: input.action.input,
                inputTitle: input.action.inputTitle,
                inputSha256s: input.action.inputSha256s,
              }
            : { kind: "created" },
        trainingMining: {
          aiTraining: use,
          aiGenerativeTraining: use,
          aiInference: use,
          dataMining: use,
        },
        licence: input.licence,
        prompt: input.prompt,
        includePromptText: policy.manifest.include_prompt_text,
        generationId: input.generationId,
        auditUrl: input.auditUrl,
        logIndex: input.log?.index,
        logOrigin: input.log?.origin,
        policy: { id: policy.id, hash: policy.hash },
        softBinding: input.softBindings?.[index],
      };
      const signed = await c2pa.sign({ bytes: image.bytes, mediaType }, spec);
      const bytes = Buffer.from(
        signed.bytes.buffer,
        signed.bytes.byteOffset,
        signed.bytes.byteLength,
      );
      return {
        ...image,
        bytes,
        sha256: sha256Hex(bytes),
        marks: [
          ...image.marks,
          { kind: "c2pa", manifest_label: signed.manifestLabel, time_stamped: signed.timeStamped },
        ],
        c2paManifest: Buffer.from(signed.manifestBytes),
        c2paLabel: signed.manifestLabel,
      };
    }),
  );
}
