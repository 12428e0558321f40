import { type DetectContext, detectMark } from "./detect.js";
import { DEFAULT_EMBED_OPTIONS, type EmbedOptions, embedMark } from "./embed.js";
import { PilotCorrelator } from "./fold.js";
import type { WatermarkKey } from "./key.js";
import { validatePayload } from "./payload.js";
import { assertRawImage } from "./raw-image.js";
import { AutocorrelationSync } from "./sync.js";
import { buildTileLayout } from "./tile.js";
import type { DetectResult, EmbedResult, RawImage, WatermarkPayload } from "./types.js";

export interface Watermarker {
  /** Marks a copy of the image; images under 128 px on a side come back `applied: false`. */
  embed(image: RawImage, payload: WatermarkPayload): EmbedResult;
  /** Blind detection; never throws for a valid RawImage, returns `detected: false` instead. */
  detect(image: RawImage): DetectResult;
  /** Fingerprint of the key in use (safe to log). */
  readonly keyFingerprint: string;
}

/**
 * A watermarker whose work may run elsewhere (a worker pool): what the pipeline and verify
 * need. A `Watermarker` is one; so is the CPU pool's (src/workers).
 */
export interface WatermarkEngine {
  embed(image: RawImage, payload: WatermarkPayload): EmbedResult | Promise<EmbedResult>;
  detect(image: RawImage): DetectResult | Promise<DetectResult>;
  readonly keyFingerprint: string;
}

export interface WatermarkerOptions {
  key: WatermarkKey;
  /** Embedding strength and invisibility bounds; the defaults meet PSNR ≥ 40 dB. */
  embed?: Partial<EmbedOptions>;
}

/**
 * Builds a watermarker for one key: derives the keyed tile layout and pilot spectra once,
 * so each call costs only the per-image work. Synchronous and CPU-bound (about 10–20 ms per
 * megapixel on one core); run it off the event loop's hot path if that matters.
 * @example
 * const wm = createWatermarker({ key: await loadWatermarkKey({ dataDir }) });
 * const out = wm.embed(raw, { issuerKeyId: 1, markId: newMarkId() });
 */
export function createWatermarker(options: WatermarkerOptions): Watermarker {
  const { key } = options;
  const embedOptions = { ...DEFAULT_EMBED_OPTIONS, ...options.embed };
  const layout = buildTileLayout(key);
  const ctx: DetectContext = {
    layout,
    sync: new AutocorrelationSync(),
    correlator: new PilotCorrelator(layout),
  };
  return {
    keyFingerprint: key.fingerprint,
    embed(image, payload) {
      assertRawImage(image);
      validatePayload(payload);
      return embedMark(key, layout, image, payload, embedOptions);
    },
    detect(image) {
      assertRawImage(image);
      return detectMark(ctx, image);
    },
  };
}
