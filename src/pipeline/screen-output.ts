import type { CategoryScores } from "../classify/categories.js";
import type { ImageClassifier, ImageResult } from "../classify/image/index.js";
import type { GeneratedImage } from "../generate/index.js";

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

/** Screens every generated image (nudity, hash lists, PDQ for the image row). */
export async function screenOutputs(
  classifier: ImageClassifier,
  images: GeneratedImage[],
): Promise<OutputScreen> {
  const results = await Promise.all(images.map((image) => classifier.classify(image.bytes)));
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
    screens: results.map((r, i) => ({ screen: `output[${i}]`, scores: r.scores })),
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
    pdq: r.pdq,
    hashListMatches: r.hashListMatches,
  }));
}
