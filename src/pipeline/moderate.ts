import { randomUUID } from "node:crypto";
import { CATEGORIES, type Category } from "../classify/categories.js";
import type { ImageClassifier, ImageModelVersions, ImageResult } from "../classify/image/index.js";
import type { TextClassifier, TextResult } from "../classify/text/index.js";
import { HallmarkError } from "../errors/index.js";
import {
  type Decision,
  decide,
  type FiredRule,
  type Policy,
  type Screen,
} from "../policy/index.js";
import { promptScreen } from "./policy-check.js";
import { applyMinorsRule } from "./screen-output.js";

export interface ModerationResult {
  flagged: boolean;
  categories: Record<Category, boolean>;
  category_scores: Record<Category, number>;
  /** Hallmark's extension: why, for reviewers. */
  hallmark: {
    action: string;
    normalised: string;
    sources: { lexicon: boolean; model: boolean; list: boolean };
    spans: Array<{
      category: Category;
      start: number;
      end: number;
      text: string;
      source: string;
      term: string;
    }>;
    people: string[];
    /** Per flagged-or-scored category, what each source scored (model null: it did not run). */
    by_source: Partial<Record<Category, { lexicon: number; list: number; model: number | null }>>;
    model_id: string | null;
    /** The policy that decided: the caller's tenant's effective policy (base + its override). */
    policy: { id: string; hash: string };
    /** The policy's word, regex and public-figure rules that fired, with their matches. */
    rules: FiredRule[];
  };
}

/**
 * A text as a decision's screen, with its text and people, so that the policy's word, regex and
 * public-figure rules run on it as they do on a prompt.
 */
function textScreen(text: TextClassifier, input: string, result: TextResult): Screen {
  return { ...promptScreen(text, input, result), screen: "text" };
}

/** The explanation fields every moderation result carries from its decision. */
function explained(d: Decision): Pick<ModerationResult["hallmark"], "policy" | "rules"> {
  return { policy: d.policy, rules: d.rules };
}

/**
 * Scores texts as /v1/moderations does (OpenAI's response shape), under the policy given (the
 * route passes the calling tenant's effective policy). A category is flagged at the policy's
 * review threshold, the point at which the gateway would stop a generation; its score is the
 * decided one (a word or regex rule that fired raises it, as it would for a prompt).
 */
export async function moderateTexts(
  deps: { text: TextClassifier; policy: Policy },
  inputs: string[],
): Promise<{ id: string; model: string; results: ModerationResult[] }> {
  const results: ModerationResult[] = [];
  for (const input of inputs) {
    const r = await deps.text.classify(input);
    const d = decide(deps.policy, [textScreen(deps.text, input, r)]);
    const categories = {} as Record<Category, boolean>;
    const scores = {} as Record<Category, number>;
    const spans: ModerationResult["hallmark"]["spans"] = [];
    for (const c of CATEGORIES) {
      categories[c] = d.categories[c].action !== "allow";
      scores[c] = d.categories[c].score;
      for (const s of d.categories[c].spans) {
        spans.push({
          category: c,
          start: s.start,
          end: s.end,
          text: s.text,
          source: s.source,
          term: s.term,
        });
      }
    }
    results.push({
      flagged: d.action !== "allow",
      categories,
      category_scores: scores,
      hallmark: {
        action: d.action,
        normalised: r.normalised,
        sources: r.sources,
        spans,
        people: r.people,
        by_source: Object.fromEntries(
          CATEGORIES.filter((c) => scores[c] > 0).map((c) => [c, r.bySource[c]]),
        ),
        model_id: r.modelId ?? null,
        ...explained(d),
      },
    });
  }
  return {
    id: `modr-${randomUUID().replaceAll("-", "")}`,
    model: moderationModel("text", deps.text.modelId),
    results,
  };
}

/** One part of OpenAI's multi-modal moderation input. */
export type ModerationPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string } };

/** What OpenAI calls the input types a category was applied to. */
export type InputType = "text" | "image";

export interface MultiModalResult extends ModerationResult {
  /** Per category, the input types it was scored on (OpenAI's field, omni-moderation). */
  category_applied_input_types: Record<Category, InputType[]>;
  hallmark: ModerationResult["hallmark"] & {
    /** The image models that screened the image parts (null: no image part). */
    image_models: ImageModelVersions | null;
    /** Per image part, in input order: what the image screen found. */
    images: Array<{
      index: number;
      width: number;
      height: number;
      sources: ImageResult["sources"];
      nsfw: ImageResult["nsfw"] | null;
      faces: Array<{ box: ImageResult["faces"][number]["box"]; age: number | null; score: number }>;
      text: Array<{ text: string; confidence: number }>;
      hash_list_matches: ImageResult["hashListMatches"];
    }>;
  };
}

/**
 * The response's `model`: which text model scored it, by its digest (`hallmark-text-3f1a9c0b77d2`),
 * or the lexicon alone; a client can tell two deployments' models apart.
 */
function moderationModel(kind: "text" | "omni", modelId: string | undefined): string {
  const digest = modelId?.split("@")[1];
  return digest ? `hallmark-${kind}-${digest}` : `hallmark-${kind}-lexicon`;
}

const DATA_URL = /^data:(image\/(?:png|jpeg|jpg|webp|gif|avif|tiff));base64,([A-Za-z0-9+/=\s]*)$/i;

/**
 * Decodes an `image_url.url` that must be a base64 data URL of an image. Remote URLs are
 * refused, never fetched (no request leaves the gateway on a caller's behalf).
 * @throws HallmarkError `invalid_request_error` naming the input's parameter path.
 */
export function decodeImageDataUrl(url: string, param: string): Uint8Array {
  if (/^https?:/i.test(url)) {
    throw new HallmarkError(
      "invalid_request_error",
      "remote image URLs are not fetched: send the image inline as a data URL (data:image/png;base64,...)",
      { param },
    );
  }
  const m = DATA_URL.exec(url);
  if (m === null) {
    throw new HallmarkError(
      "invalid_request_error",
      "image_url.url must be a base64 data URL of a PNG, JPEG, WebP, GIF, AVIF or TIFF image",
      { param },
    );
  }
  const b64 = m[2]!.replace(/\s+/g, "");
  if (b64.length % 4 === 1) {
    throw new HallmarkError("invalid_request_error", "image data is not valid base64", { param });
  }
  const bytes = Buffer.from(b64, "base64");
  if (bytes.length === 0) {
    throw new HallmarkError("invalid_request_error", "image data is empty", { param });
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * The categories an image screen scores: `sexual` when the nudity model ran, `sexual/minors` when
 * faces ran too (the minors rule), and every lexicon category when text was read (OCR), except
 * `public-figure`, which comes from the curated list of names, not from text in pixels.
 */
function imageCategories(r: ImageResult): Set<Category> {
  const out = new Set<Category>();
  if (r.sources.nsfw) out.add("sexual");
  if (r.sources.nsfw && r.sources.faces) out.add("sexual/minors");
  if (r.sources.ocr) for (const c of CATEGORIES) if (c !== "public-figure") out.add(c);
  return out;
}

/**
 * OpenAI's multi-modal form (an array of `{type: "text"}` and `{type: "image_url"}` parts) is one
 * input: one result, each category at its highest score over the parts, with
 * `category_applied_input_types` saying which kinds of part it was scored on. Images come as
 * data URLs and go through the image screen (nudity, faces with the minors rule, text in the
 * image, hash lists); an operator hash-list match flags the input.
 * @throws HallmarkError `invalid_request_error` (remote URL, bad data URL, too many images),
 *   `invalid_image`, `image_too_large`; `stage_unavailable` when no image classifier is configured.
 */
export async function moderateMultiModal(
  deps: {
    text: TextClassifier;
    image?: ImageClassifier;
    policy: Policy;
    maxImages: number;
    /** Fetches http(s) image URLs (SSRF-checked); absent: they are refused. */
    fetchImage?: (url: string, param: string) => Promise<Uint8Array>;
  },
  parts: ModerationPart[],
): Promise<{ id: string; model: string; results: MultiModalResult[] }> {
  const images = parts.flatMap((p, index) => (p.type === "image_url" ? [{ p, index }] : []));
  if (images.length > deps.maxImages) {
    throw new HallmarkError(
      "invalid_request_error",
      `at most ${deps.maxImages} images per moderation request`,
      { param: "input", details: { images: images.length, maxImages: deps.maxImages } },
    );
  }
  // Decode every data URL before any work, so a bad part fails the request cheaply; remote URLs
  // (when enabled) are fetched only after every inline part decoded.
  const urls = images.map(({ p, index }) => ({
    url: (p as Extract<ModerationPart, { type: "image_url" }>).image_url.url,
    param: `input[${index}].image_url.url`,
  }));
  const { fetchImage } = deps;
  const remote = (url: string) => fetchImage !== undefined && /^https?:/i.test(url);
  const inline = urls.map(({ url, param }) =>
    remote(url) ? null : decodeImageDataUrl(url, param),
  );
  const decoded = await Promise.all(
    urls.map(({ url, param }, i) => inline[i] ?? fetchImage!(url, param)),
  );
  const classifier = deps.image;
  if (images.length > 0 && classifier === undefined) {
    throw new HallmarkError("stage_unavailable", "image screening is not configured");
  }
  const texts = parts.flatMap((p) => (p.type === "text" ? [p.text] : []));
  const joined = texts.join("\n");
  const textResult = texts.length > 0 ? await deps.text.classify(joined) : undefined;
  const imageResults: ImageResult[] = [];
  for (const bytes of decoded) imageResults.push(await classifier!.classify(bytes));

  const screens: Screen[] = [];
  if (textResult) screens.push(textScreen(deps.text, joined, textResult));
  imageResults.forEach((r, i) => {
    screens.push({ screen: `image[${images[i]!.index}]`, scores: applyMinorsRule(deps.policy, r) });
  });
  const d = decide(deps.policy, screens);
  const hashMatches = imageResults.flatMap((r) => r.hashListMatches);
  const applied = {} as Record<Category, InputType[]>;
  const categories = {} as Record<Category, boolean>;
  const scores = {} as Record<Category, number>;
  const spans: ModerationResult["hallmark"]["spans"] = [];
  const imageCats = imageResults.map(imageCategories);
  for (const c of CATEGORIES) {
    categories[c] = d.categories[c].action !== "allow";
    scores[c] = d.categories[c].score;
    applied[c] = [
      ...(textResult ? (["text"] as const) : []),
      ...(imageCats.some((s) => s.has(c)) ? (["image"] as const) : []),
    ];
    for (const s of d.categories[c].spans) {
      spans.push({
        category: c,
        start: s.start,
        end: s.end,
        text: s.text,
        source: s.source === "ocr" || s.source === "faces" ? `${s.source}:${s.screen}` : s.source,
        term: s.term,
      });
    }
  }
  const action = hashMatches.length > 0 ? "block" : d.action;
  return {
    id: `modr-${randomUUID().replaceAll("-", "")}`,
    model: moderationModel("omni", deps.text.modelId),
    results: [
      {
        flagged: action !== "allow",
        categories,
        category_scores: scores,
        category_applied_input_types: applied,
        hallmark: {
          action,
          normalised: textResult?.normalised ?? "",
          sources: textResult?.sources ?? { lexicon: false, model: false, list: false },
          spans,
          people: textResult?.people ?? [],
          by_source: textResult
            ? Object.fromEntries(
                CATEGORIES.filter((c) => textResult.scores[c].score > 0).map((c) => [
                  c,
                  textResult.bySource[c],
                ]),
              )
            : {},
          model_id: textResult?.modelId ?? null,
          ...explained(d),
          // The image models that screened the images, as the audit row names them.
          image_models: images.length > 0 ? (deps.image?.versions ?? null) : null,
          images: imageResults.map((r, i) => ({
            index: images[i]!.index,
            width: r.width,
            height: r.height,
            sources: r.sources,
            nsfw: r.nsfw ?? null,
            faces: r.faces.map((f) => ({ box: f.box, age: f.age ?? null, score: f.score })),
            text: r.text.map((l) => ({ text: l.text, confidence: l.confidence })),
            hash_list_matches: r.hashListMatches,
          })),
        },
      },
    ],
  };
}
