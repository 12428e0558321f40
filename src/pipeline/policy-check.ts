import type { ImageClassifier } from "../classify/image/index.js";
import type { TextClassifier, TextResult } from "../classify/text/index.js";
import { HallmarkError } from "../errors/index.js";
import {
  type Decision,
  decide,
  type LicenceRegistry,
  type Policy,
  type Screen,
  type TenantSettings,
} from "../policy/index.js";
import { inputFaceRule } from "./edit-screen.js";
import { type LicenceAudit, licenceAudit } from "./licence-audit.js";
import { applyMinorsRule, inputFaceScores } from "./screen-output.js";

/** The prompt as a decision's screen: its scores, and its text and people for the policy's rules. */
export function promptScreen(text: TextClassifier, prompt: string, result: TextResult): Screen {
  const n = text.normalise(prompt);
  return {
    screen: "prompt",
    scores: result.scores,
    text: { original: prompt, normalised: n },
    people: result.people,
  };
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .toLowerCase()
    .split("*")
    .map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`);
}

/** Whether the policy's `models.allow` lets a model be asked for (case-insensitive, `*` globs). */
export function modelAllowed(policy: Policy, model: string): boolean {
  const id = model.trim().toLowerCase();
  return policy.models.allow.some((p) => globToRegExp(p).test(id));
}

/** `model_not_allowed` (403) when the policy's allow-list does not name the model. */
export function checkModelAllowed(policy: Policy, model: string): void {
  if (!modelAllowed(policy, model)) {
    throw new HallmarkError(
      "model_not_allowed",
      `The policy does not allow the model "${model}" (allowed: ${policy.models.allow.join(", ")}).`,
      { param: "model", details: { policy: { id: policy.id, hash: policy.hash } } },
    );
  }
}

/** What `hallmark policy check` and `policy test` see: the decision a request would get. */
export interface PolicyCheck {
  decision: Decision;
  /** Null when the model is not allowed (the request would be refused before the licence audit). */
  licence: LicenceAudit | null;
  /** The refusal the request would get before generating, if any (model, licence). */
  refusal: { code: string; message: string } | null;
  /** Which screens ran: "prompt", then "output" or "input" and "input.faces" for an image. */
  screens: string[];
  people: string[];
  /** Operator hash lists the image matched (`hash_list:<list>`): any match blocks, as it would. */
  hashListMatches: string[];
}

/** How `--image` is screened: as a generated image (output) or as an edit's input photo. */
export type ImageRole = "output" | "input";

/**
 * Decides a request as the pipeline would, without generating: the prompt screen with the
 * policy's rules, an optional image through the image classifiers with the image rules the
 * pipeline applies (as a generated image: the minors rule; as an edit's input: the minors rule and
 * the rule for photos of real people, `edits.real_people` / `faces.input_with_face`), operator
 * hash lists (a match blocks), the model allow-list and the licence audit for the declarations.
 */
export async function checkPolicy(
  deps: { text: TextClassifier; image?: ImageClassifier; licences?: LicenceRegistry },
  policy: Policy,
  settings: TenantSettings | null,
  input: { prompt: string; model: string; image?: Buffer; imageAs?: ImageRole },
): Promise<PolicyCheck> {
  const result = await deps.text.classify(input.prompt);
  const screens: Screen[] = [promptScreen(deps.text, input.prompt, result)];
  const hashListMatches: string[] = [];
  if (input.image) {
    if (!deps.image) {
      throw new HallmarkError("config_error", "No image classifier is configured.");
    }
    const r = await deps.image.classify(input.image);
    const role = input.imageAs ?? "output";
    screens.push({ screen: role, scores: applyMinorsRule(policy, r) });
    if (role === "input") {
      const faces = {
        ...policy,
        faces: { ...policy.faces, input_with_face: inputFaceRule(policy) },
      };
      screens.push({ screen: "input.faces", scores: inputFaceScores(faces, r) });
    }
    hashListMatches.push(...r.hashListMatches.map((m) => `hash_list:${m.list}`));
  }
  const scored = decide(policy, screens);
  // A hash-list match refuses the image whatever the scores (the pipeline's rule).
  const decision = hashListMatches.length > 0 ? { ...scored, action: "block" as const } : scored;
  let refusal: PolicyCheck["refusal"] = null;
  let licence: LicenceAudit | null = null;
  if (!modelAllowed(policy, input.model)) {
    refusal = {
      code: "model_not_allowed",
      message: `the policy does not allow the model "${input.model}"`,
    };
  } else {
    licence = licenceAudit(deps.licences, policy, input.model, decision.fired, settings);
    if (licence.verdict && !licence.verdict.allowed) {
      refusal = { code: "licence_not_permitted", message: licence.verdict.reasons.join("; ") };
    }
  }
  return {
    decision,
    licence,
    refusal,
    screens: screens.map((s) => s.screen),
    people: result.people,
    hashListMatches,
  };
}
