/**
 * From a ManifestSpec to the c2pa-rs manifest definition: the claim's title, format and
 * claim_generator_info, and the assertions Hallmark writes. Labels are the spec's own:
 * - `c2pa.actions.v2` (C2PA §18.6, "Actions"): `c2pa.created` with digitalSourceType
 *   trainedAlgorithmicMedia, or `c2pa.opened` + `c2pa.edited` for edits;
 * - `cawg.training-mining` (CAWG training-and-data-mining assertion);
 * - `stds.schema-org.CreativeWork` (schema.org CreativeWork: `license`, `usageInfo`);
 * - `c2pa.soft-binding` (C2PA §18.9, "Soft binding"): the watermark's algorithm and value;
 * - `org.hallmark.generation`: Hallmark's own entity-specific assertion (C2PA §6.2 labels):
 *   generation id, audit URL and log index, prompt SHA-256, model, policy.
 */
import { createHash } from "node:crypto";
import {
  type ManifestSpec,
  TRAINED_ALGORITHMIC_MEDIA,
  type TrainingMining,
  type TrainingMiningUse,
} from "./types.js";

export const LABEL = {
  actions: "c2pa.actions.v2",
  trainingMining: "cawg.training-mining",
  creativeWork: "stds.schema-org.CreativeWork",
  softBinding: "c2pa.soft-binding",
  generation: "org.hallmark.generation",
} as const;

/** The id that links the parent ingredient to the `c2pa.opened` action. */
export const PARENT_INGREDIENT_ID = "hallmark-input";

export const CLAIM_GENERATOR_NAME = "hallmark";

const TDM_KEYS: Record<keyof Omit<TrainingMining, "constraintInfo">, string> = {
  aiTraining: "cawg.ai_training",
  aiGenerativeTraining: "cawg.ai_generative_training",
  aiInference: "cawg.ai_inference",
  dataMining: "cawg.data_mining",
};

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function softwareAgent(model: ManifestSpec["model"]): { name: string; version?: string } {
  return model.version ? { name: model.name, version: model.version } : { name: model.name };
}

function actions(spec: ManifestSpec): object {
  const when = (spec.when ?? new Date()).toISOString();
  const agent = softwareAgent(spec.model);
  if (spec.action.kind === "created") {
    return {
      actions: [
        {
          action: "c2pa.created",
          when,
          digitalSourceType: TRAINED_ALGORITHMIC_MEDIA,
          softwareAgent: agent,
        },
      ],
    };
  }
  return {
    actions: [
      {
        action: "c2pa.opened",
        when,
        parameters: { ingredientIds: [PARENT_INGREDIENT_ID] },
      },
      {
        action: "c2pa.edited",
        when,
        digitalSourceType: TRAINED_ALGORITHMIC_MEDIA,
        softwareAgent: agent,
      },
    ],
  };
}

function trainingMining(spec: ManifestSpec): object {
  const chosen = spec.trainingMining ?? {};
  const entries: Record<string, { use: TrainingMiningUse; constraint_info?: string }> = {};
  for (const [key, label] of Object.entries(TDM_KEYS)) {
    const use = chosen[key as keyof typeof TDM_KEYS] ?? "notAllowed";
    entries[label] =
      use === "constrained" && chosen.constraintInfo
        ? { use, constraint_info: chosen.constraintInfo }
        : { use };
  }
  return { entries };
}

function generation(spec: ManifestSpec): object {
  const data: Record<string, unknown> = {
    generationId: spec.generationId,
    model: softwareAgent(spec.model),
  };
  if (spec.auditUrl) data.auditUrl = spec.auditUrl;
  if (spec.logIndex !== undefined) data.logIndex = spec.logIndex;
  if (spec.logOrigin !== undefined) data.logOrigin = spec.logOrigin;
  if (spec.prompt !== undefined) {
    data.promptSha256 = sha256Hex(spec.prompt);
    if (spec.includePromptText) data.prompt = spec.prompt;
  }
  if (spec.policy) data.policy = spec.policy;
  if (spec.action.kind === "edited" && spec.action.inputSha256s) {
    data.inputs = spec.action.inputSha256s.map((sha256) => ({ sha256 }));
  }
  return data;
}

/** The manifest definition JSON for `WasmBuilder.fromJson`. */
export function manifestDefinition(spec: ManifestSpec, format: string): object {
  const assertions: Array<{ label: string; data: object }> = [
    { label: LABEL.actions, data: actions(spec) },
    { label: LABEL.trainingMining, data: trainingMining(spec) },
    { label: LABEL.generation, data: generation(spec) },
  ];
  if (spec.licence) {
    const work: Record<string, unknown> = {
      "@context": "https://schema.org",
      "@type": "CreativeWork",
      license: spec.licence.url,
    };
    if (spec.licence.usageTerms) work.usageInfo = spec.licence.usageTerms;
    if (spec.licence.name) work.name = spec.licence.name;
    assertions.push({ label: LABEL.creativeWork, data: work });
  }
  if (spec.softBinding) {
    assertions.push({
      label: LABEL.softBinding,
      data: {
        alg: spec.softBinding.alg,
        blocks: [{ scope: {}, value: spec.softBinding.value }],
      },
    });
  }
  return {
    title: spec.title,
    format,
    claim_generator_info: [{ name: CLAIM_GENERATOR_NAME, version: spec.generatorVersion }],
    assertions,
  };
}
