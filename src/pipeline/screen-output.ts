import { type CategoryScores, emptyScores } from "../classify/categories.js";
import {
  decodeForScreening,
  type ImageClassifier,
  type ImageResult,
  type RawImageInput,
} from "../classify/image/index.js";
import type { GeneratedImage } from "../generate/index.js";
import type { Policy } from "../policy/index.js";

/** What the image rules read from a policy; `faces` falls back to the schema's defaults. */
export type ImageRulesPolicy = Pick<Policy, "categories"> & {
  faces?: { minor_age?: number; input_with_face?: "allow" | "review" | "block" };
};
export const DEFAULT_MINOR_AGE = 25;

/**
 * The minors rule (issue 5): sexual content (the policy's `sexual` review threshold reached)
 * together with any face whose apparent age is under `faces.minor_age` (default 25: 18 plus a
 * margin for the age estimate's error) scores `sexual/minors` at 1, so the policy blocks it and
 * the decision names the severe category. Returns the scores unchanged when the rule does not
 * apply, or when faces were not looked for (`sources.faces` false: never assumed absent).
 */
export function applyMinorsRule(policy: ImageRulesPolicy, result: ImageResult): CategoryScores {
  const minorAge = policy.faces?.minor_age ?? DEFAULT_MINOR_AGE;
  const sexual = result.scores.sexual.score;
  if (!result.sources.faces || sexual < policy.categories.sexual.review) return result.scores;
  const young = result.faces.filter((f) => f.age !== undefined && f.age < minorAge);
  if (young.length === 0) return result.scores;
  const youngest = Math.min(...young.map((f) => f.age!));
  return {
    ...result.scores,
    "sexual/minors": {
      score: 1,
      spans: [
        {
          start: 0,
          end: 0,
          text: "",
          term: `sexual ${sexual.toFixed(2)} with a face of apparent age ${youngest.toFixed(0)} (under ${minorAge})`,
          source: "faces",
        },
      ],
    },
  };
}

/**
 * The input rule for edits: an input image showing a face may be a photo of a real person, so
 * the policy's `faces.input_with_face` (default review) decides, as a `public-figure` score at
 * that action's threshold. Empty scores when no face was found or faces did not run.
 */
export function inputFaceScores(policy: ImageRulesPolicy, result: ImageResult): CategoryScores {
  const scores = emptyScores();
  const action = policy.faces?.input_with_face ?? "review";
  if (!result.sources.faces || result.faces.length === 0 || action === "allow") return scores;
  const rule = policy.categories["public-figure"];
  scores["public-figure"] = {
    score: action === "block" ? rule.block : rule.review,
    spans: [
      {
        start: 0,
        end: 0,
        text: "",
        term: `input image shows ${result.faces.length} face(s)`,
        source: "faces",
      },
    ],
  };
  return scores;
}

/** What the output screen found, per image, for the decision and the audit row. */
export interface OutputScreen {
  results: ImageResult[];
  /** Screens for `decide`, one per image. */
  screens: Array<{ screen: string; scores: CategoryScores }>;
  /** Operator hash-list matches: any match refuses the request, whatever the scores. */
  hashListMatches: Array<{ image: number; list: string; label: string; distance: number }>;
  /** Which checks ran, e.g. "nsfw, pdq (faces, ocr absent)". */
  note: string;
}

/** A generated image with its pixels, decoded once for every stage that reads them. */
export type DecodedOutput = GeneratedImage & { raw?: RawImageInput };

/**
 * Decodes every output once (sRGB, 8 bits, orientation applied: the classifier's form), for the
 * output screen and then the watermark. Each used to decode the encoded bytes itself, and a
 * screening split over two threads decoded them in both: about 6 ms of CPU per 512² photo-like
 * PNG and 22 ms per 1024² each time (.probe measurement, 2026-11-29).
 */
export function decodeOutputs(
  images: GeneratedImage[],
  maxPixels: number,
): Promise<DecodedOutput[]> {
  return Promise.all(
    images.map(async (image) => ({
      ...image,
      raw: await decodeForScreening(image.bytes, maxPixels),
    })),
  );
}

/**
 * Screens every generated image (nudity, text, faces, hash lists, PDQ for the image row); with
 * the policy, the minors rule runs on each. Decoded pixels (`raw`) are screened as they are.
 */
export async function screenOutputs(
  classifier: ImageClassifier,
  outputs: DecodedOutput[],
  policy?: ImageRulesPolicy,
): Promise<OutputScreen> {
  // Ages are read only by the minors rule, from the policy's sexual review threshold on: below
  // it they cannot change the decision, so the age model (about 21 ms a face) is not run.
  const review = policy?.categories.sexual.review;
  const results = await Promise.all(
    outputs.map(async (output) => {
      const image = output.raw ?? output.bytes;
      if (review === undefined) return classifier.classify(image);
      const r = await classifier.classify(image, { ageFromSexual: review });
      // The classifier skipped on the nudity model's score; text read in the image ("porn")
      // can raise `sexual` past the threshold too. Then the image is screened again with ages:
      // rare, and the minors rule must never lack an age it would read. The text is not read
      // again (OCR is most of a screening's cost): the faces, now with ages, join the first
      // result, whose text and scores stand.
      if (!r.agesEstimated && r.scores.sexual.score >= review) {
        const again = await classifier.classify(image, { skipText: true });
        return {
          ...r,
          faces: again.faces,
          agesEstimated: again.agesEstimated,
          timings: {
            ...r.timings,
            faces: again.timings.faces,
            total: r.timings.total + again.timings.total,
          },
        };
      }
      return r;
    }),
  );
  const first = results[0];
  const ran = first
    ? Object.entries(first.sources)
        .filter(([, v]) => v)
        .map(([k]) => k)
    : [];
  const absent = first
    ? Object.entries(first.sources)
        .filter(([, v]) => !v)
        .map(([k]) => k)
    : [];
  return {
    results,
    screens: results.map((r, i) => ({
      screen: `output[${i}]`,
      scores: policy ? applyMinorsRule(policy, r) : r.scores,
    })),
    hashListMatches: results.flatMap((r, image) => r.hashListMatches.map((m) => ({ image, ...m }))),
    note: absent.length > 0 ? `${ran.join(", ")} (${absent.join(", ")} not built)` : ran.join(", "),
  };
}

/** The compact view of an image screen for the audit row. */
export function outputAuditView(screen: OutputScreen): unknown {
  return screen.results.map((r) => ({
    sources: r.sources,
    nsfw: r.nsfw ?? null,
    sexual: r.scores.sexual.score,
    // Text read in the image: what a reviewer needs to see why a mark or brand fired.
    text: r.text.map((l) => ({ text: l.text, confidence: l.confidence, box: l.box })),
    // 1: the upright pass only (it saw nothing text-like, so the turned passes were skipped).
    text_passes: r.textPasses,
    faces: r.faces.map((f) => ({ box: f.box, age: f.age ?? null, score: f.score })),
    // False: faces were found but their ages not estimated (sexual under the review threshold).
    ages_estimated: r.agesEstimated,
    pdq: r.pdq,
    hashListMatches: r.hashListMatches,
  }));
}
