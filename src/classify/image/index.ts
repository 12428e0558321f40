/**
 * Image screening before and after generation: the nudity model (ONNX, from nsfwjs), PDQ
 * fingerprints and operator hash lists, with defined behaviour for bad input.
 * See docs/image-screening.md.
 */
export {
  type ClassifyOptions,
  createImageClassifier,
  DEFAULT_FACE_MIN_SCORE,
  DEFAULT_HASH_THRESHOLD,
  type Face,
  type ImageClassifier,
  type ImageClassifierOptions,
  type ImageModelVersions,
  type ImageResult,
  MIN_MATCH_QUALITY,
  NSFW_MODEL_FILE,
  type TextReading,
} from "./classifier.js";
export {
  DEFAULT_MAX_PIXELS,
  type DecodedImage,
  decodeForScreening,
  type ImageInput,
  type RawImageInput,
} from "./decode.js";
export { ageFromDistribution } from "./faces-age.js";
export { NSFW_CLASSES, type NsfwClass, type NsfwProbabilities, sexualScore } from "./nsfw.js";
export {
  DEFAULT_OCR_DETECTION_SIDE,
  type OcrModelFiles,
  type OcrVersion,
  packagedOcrModels,
  type ReadOptions,
  type TextLine,
} from "./ocr.js";
export { completeFragments, loadCompletionTerms } from "./ocr-complete.js";
export {
  MAX_OCR_TEXT_CHARS,
  mergeScores,
  scoreImageText,
  type TextScreen,
  withCompletionTerms,
} from "./ocr-match.js";
export {
  createRemoteImageFetcher,
  DEFAULT_REMOTE_IMAGE_REDIRECTS,
  isPublicUnicastAddress,
  MAX_REMOTE_IMAGE_URL_LENGTH,
  type RemoteImageFetcher,
  type RemoteImageFetchOptions,
} from "./remote-fetch.js";
