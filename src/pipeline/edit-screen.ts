import type { CategoryScores } from "../classify/categories.js";
import type { ImageClassifier, ImageResult } from "../classify/image/index.js";
import type { Action, Policy } from "../policy/index.js";
import type { EditInputImage } from "./edit-input.js";

/** What the input screen found, for the decision and the audit row. */
export interface InputScreen {
  results: ImageResult[];
  /** Screens for `decide`, one per input image (`input[0]`, …). */
  screens: Array<{ screen: string; scores: CategoryScores }>;
  hashListMatches: Array<{ image: number; list: string; label: string; distance: number }>;
  /** Inputs with at least one face, when face detection ran. */
  withFaces: number[];
  /** Whether face detection ran at all (the rule for photos of real people needs it). */
  facesScreened: boolean;
  /** Which checks ran, e.g. "nsfw, pdq (faces, ocr not built)". */
  note: string;
}

/**
 * What the policy does with an edit of a photo with a face in it (issue 5: edits of photos of
 * real people; default `review`). Read from `edits.real_people` when the policy has that key;
 * policies without it get the default.
 */
export function realPeopleRule(policy: Policy): Action {
  const edits = (policy as { edits?: { real_people?: unknown } }).edits;
  const rule = edits?.real_people;
  return rule === "allow" || rule === "block" || rule === "review" ? rule : "review";
}

/**
 * Screens every input image of an edit with the same classifier as the outputs: nudity (and
 * whatever else the classifier scores), operator hash lists, faces where the classifier detects
 * them. Each input's PDQ hash is kept for the audit row; its bytes are not.
 */
export async function screenInputs(
  classifier: ImageClassifier,
  inputs: EditInputImage[],
): Promise<InputScreen> {
  const results = await Promise.all(inputs.map((input) => classifier.classify(input.original)));
  const sources = results[0]?.sources ?? {};
  const ran = Object.entries(sources)
    .filter(([, v]) => v)
    .map(([k]) => k);
  const absent = Object.entries(sources)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  const facesScreened = results.every((r) => r.sources.faces);
  return {
    results,
    screens: results.map((r, i) => ({ screen: `input[${i}]`, scores: r.scores })),
    hashListMatches: results.flatMap((r, image) => r.hashListMatches.map((m) => ({ image, ...m }))),
    withFaces: facesScreened ? results.flatMap((r, i) => (r.faces.length > 0 ? [i] : [])) : [],
    facesScreened,
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
