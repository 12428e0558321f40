/**
 * Prompt screening: normalisation, lexicons, the public-figure list and the ONNX text model.
 * See docs/text-screening.md for how the scores are made and combined.
 */
export {
  createTextClassifier,
  DEFAULT_MAX_CHARS,
  type SourceScores,
  type TextClassifier,
  type TextClassifierOptions,
  type TextResult,
} from "./classifier.js";
export { buildConfusableFold, type ConfusableFold, loadConfusableFold } from "./confusables.js";
export { featurise, tokenise } from "./features.js";
export { loadEmoji } from "./lexicon-load.js";
export {
  createNormaliser,
  type Normalised,
  type Normaliser,
  type NormaliserTables,
  toOriginalRange,
} from "./normalise.js";
