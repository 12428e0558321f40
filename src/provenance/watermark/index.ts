/**
 * Invisible watermark: a keyed, tiled spread-spectrum mark on the luma of a fixed analysis
 * grid, found blindly through the autocorrelation of its repetitions (rotation, scale, crop),
 * located by keyed pilot cells (translation, flips) and decoded with a soft-decision
 * convolutional code and a CRC-24. See docs/watermark.md.
 */

export { MAX_DECODES } from "./detect.js";
export { MIN_EMBED_SIDE } from "./embed.js";
export {
  DEFAULT_MAX_PIXELS,
  type DecodedImage,
  type DecodeOptions,
  decodeImage,
  type EncodeFormat,
  encodeImage,
  formatForPath,
} from "./image-io.js";
export {
  generateWatermarkKey,
  keyBytes,
  loadWatermarkKey,
  parseWatermarkKey,
  WATERMARK_KEY_FILE,
  WatermarkKey,
} from "./key.js";
export {
  decodePayloadHex,
  encodePayloadHex,
  newMarkId,
  validatePayload,
} from "./payload.js";
export type {
  DetectedMark,
  DetectResult,
  EmbedResult,
  RawImage,
  WatermarkPayload,
  WatermarkTransform,
} from "./types.js";
export { WATERMARK_ALG } from "./types.js";
export {
  createWatermarker,
  type WatermarkEngine,
  type Watermarker,
  type WatermarkerOptions,
} from "./watermarker.js";
