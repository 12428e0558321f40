import type { CategoryScores } from "../classify/categories.js";
import type { ImageClassifier, ImageResult } from "../classify/image/index.js";
import type { EditInputImage } from "./edit-input.js";
import { applyMinorsRule, type ImageRulesPolicy, inputFaceScores } from "./screen-output.js";

/** What the input screen found, for the decision and the audit row. */
export interface InputScreen {
  results: ImageResult[];
  /** Screens for `decide`, one per input image (`input[0]`, …). */
  screens: Array<{ screen: string; scores: CategoryScores }>;
  hashListMatches: Array<{ image: number; list: string; label: string; distance: number }>;
  /** Which checks ran, e.g. "nsfw, pdq (faces, ocr not built)". */
  note: string;
}

const SEVERITY = { allow: 0, review: 1, block: 2 } as const;
type FaceAction = keyof typeof SEVERITY;

/**
 * The rule for an edit whose input shows a face (a photo of a real person). Two policy keys say
 * it: `edits.real_people` and `faces.input_with_face` (both default `review`); the stricter
 * applies, so loosening one alone never lets such an edit through.
 */
export function inputFaceRule(
  policy: ImageRulesPolicy & { edits?: { real_people?: FaceAction } },
): FaceAction {
  const a = policy.edits?.real_people ?? "review";
  const b = policy.faces?.input_with_face ?? "review";
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

/**
 * Screens every input image of an edit with the same classifier and image rules as the outputs:
 * nudity, text in the image, operator hash lists, the minors rule, and faces: an input with a
 * face may be a photo of a real person, so `inputFaceRule` decides (default review; screen
 * `input[i].faces`). Each input's PDQ hash is kept for the audit row; its bytes
 * are not.
 */
export async function screenInputs(
  classifier: ImageClassifier,
  policy: ImageRulesPolicy & { edits?: { real_people?: FaceAction } },
  inputs: EditInputImage[],
): Promise<InputScreen> {
  const faces = { ...policy, faces: { ...policy.faces, input_with_face: inputFaceRule(policy) } };
  const results = await Promise.all(inputs.map((input) => classifier.classify(input.original)));
  const sources = results[0]?.sources ?? {};
  const ran = Object.entries(sources)
    .filter(([, v]) => v)
    .map(([k]) => k);
  const absent = Object.entries(sources)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  return {
    results,
    screens: results.flatMap((r, i) => [
      { screen: `input[${i}]`, scores: applyMinorsRule(policy, r) },
      { screen: `input[${i}].faces`, scores: inputFaceScores(faces, r) },
    ]),
    hashListMatches: results.flatMap((r, image) => r.hashListMatches.map((m) => ({ image, ...m }))),
    note:
      absent.length > 0
        ? `${ran.join(", ")} (${absent.join(", ")} not built; photos of real people are not detected)`
        : ran.join(", "),
  };
}

/** The compact view of the input screen for the audit row: hashes and scores, never bytes. */
export function inputAuditView(inputs: EditInputImage[], screen: InputScreen | null): unknown {
  return inputs.map((input, i) => {
    const r = screen?.results[i];
    return {
      sha256: input.sha256,
      media_type: input.mediaType,
      width: input.width,
      height: input.height,
      bytes: input.original.length,
      pdq: r?.pdq ?? null,
      sources: r?.sources ?? null,
      nsfw: r?.nsfw ?? null,
      sexual: r?.scores.sexual.score ?? null,
      faces: r ? r.faces.length : null,
      hashListMatches: r?.hashListMatches ?? [],
    };
  });
}
