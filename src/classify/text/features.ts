import { wordsOf } from "./lexicon-match.js";

/**
 * The model's input: hashed character n-grams (2 to 4 characters, so spelling variants and
 * unspaced Chinese and Japanese share features) and hashed words and word pairs, with words of
 * Chinese and Japanese found by `Intl.Segmenter` (ICU's dictionary segmentation). Counts are
 * damped (log1p) and L2-normalised. The same code runs at training time and at run time, so
 * the ONNX graph only has to do the arithmetic.
 */
export interface FeatureConfig {
  /** Number of hash buckets (the embedding table's rows). */
  dim: number;
}

export interface SparseFeatures {
  /** Bucket indices, ascending, distinct. */
  indices: Int32Array;
  /** Weight of each bucket, L2-normalised. */
  values: Float32Array;
}

/** Bumped whenever the feature definition changes; the model card records it. */
export const FEATURE_VERSION = 1;

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;

/** 32-bit FNV-1a over UTF-16 code units. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Words of normalised text; Chinese and Japanese runs are cut by the given segmenter. */
export function tokenise(text: string, segmenter: Intl.Segmenter): string[] {
  if (!CJK.test(text)) return wordsOf(text).map(([a, b]) => text.slice(a, b));
  const out: string[] = [];
  for (const s of segmenter.segment(text)) if (s.isWordLike) out.push(s.segment);
  return out;
}

/** Computes the sparse feature vector of normalised text. */
export function featurise(
  text: string,
  config: FeatureConfig,
  segmenter: Intl.Segmenter,
): SparseFeatures {
  const counts = new Map<number, number>();
  const add = (key: string) => {
    const bucket = fnv1a(key) % config.dim;
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  };
  add("\u0000bias");
  const padded = ` ${text} `;
  for (let n = 2; n <= 4; n++) {
    for (let i = 0; i + n <= padded.length; i++) add(`${n}|${padded.slice(i, i + n)}`);
  }
  const words = tokenise(text, segmenter);
  for (let i = 0; i < words.length; i++) {
    add(`w|${words[i]}`);
    if (i + 1 < words.length) add(`b|${words[i]} ${words[i + 1]}`);
  }
  const indices = Int32Array.from([...counts.keys()].sort((a, b) => a - b));
  const values = new Float32Array(indices.length);
  let norm = 0;
  for (let k = 0; k < indices.length; k++) {
    const v = Math.log1p(counts.get(indices[k]!)!);
    values[k] = v;
    norm += v * v;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let k = 0; k < values.length; k++) values[k]! *= scale;
  return { indices, values };
}
