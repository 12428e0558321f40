/** What a backend is asked to make. Sizes are already validated against the configured list. */
export interface GenerateInput {
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  /** Number of images, 1..limits.maxImages. */
  n: number;
  /** The seed of the first image; image i uses seed + i. */
  seed: number;
  /** The model the caller asked for, when it asked. */
  model?: string;
  /**
   * Told after each denoising step, by backends that denoise in-process (embedded, onnx-sd);
   * remote backends never call it (their stage changes are reported by the pipeline). Optional,
   * so callers and backends that ignore progress are unaffected. Must not throw or block.
   */
  onProgress?: (progress: GenerateProgress) => void;
}

/** A backend's progress on one request: denoising step `step` of `steps` is done. */
export interface GenerateProgress {
  step: number;
  steps: number;
}

/**
 * An image-to-image request (OpenAI's `images/edits`, AUTOMATIC1111's img2img): the prompt and
 * output settings of a generation plus the picture to start from. The pipeline hands every
 * backend the same normalised form, whatever the client uploaded: EXIF orientation applied,
 * fitted (centre crop) to exactly `width`×`height`, encoded as PNG.
 */
export interface EditInput extends GenerateInput {
  /** The input image: a PNG of exactly `width`×`height` (RGB or RGBA), already screened. */
  image: Buffer;
  /**
   * Further input images (OpenAI's `image[]` after the first), same form as `image`; only sent to
   * backends whose `editCapabilities.maxImages` is above 1.
   */
  references?: Buffer[];
  /**
   * Optional inpainting mask, a greyscale PNG of `width`×`height`: white (255) is repainted, black
   * (0) is kept (AUTOMATIC1111's convention). An adapter whose upstream wants OpenAI's form (alpha
   * 0 = edit) converts it. Only sent to backends whose `editCapabilities.mask` is true.
   */
  mask?: Buffer;
  /** How far from the input to move, 0 (unchanged) to 1 (ignore it). Backend default when unset. */
  strength?: number;
  /**
   * OpenAI's `images/variations`: a new picture like the input, with no prompt (`prompt` is
   * empty). Backends that denoise run img2img unconditioned; an upstream with a variations
   * endpoint of its own (OpenAI's) is sent there instead of to its edits.
   */
  variation?: boolean;
}

/**
 * What a backend's `edit` honours. The pipeline refuses a request outside it (400
 * `edit_not_supported`) before anything is generated, instead of silently dropping a field.
 */
export interface EditCapabilities {
  /** Inpainting: `mask` is honoured. */
  mask: boolean;
  /** Input images per edit: 1 for img2img backends; OpenAI's gpt-image-1 takes up to 16. */
  maxImages: number;
  /** `strength` (denoising strength) is honoured; when false a given strength is refused. */
  strength: boolean;
}

/** One generated image, encoded as the backend delivered it. */
export interface GeneratedImage {
  bytes: Buffer;
  mediaType: "image/png" | "image/jpeg" | "image/webp";
  width: number;
  height: number;
  seed: number;
}

export interface GenerateOutput {
  images: GeneratedImage[];
  /** The model that made the images, as the backend reports it. */
  model: { id: string; version: string };
  backend: string;
  /** True for the embedded procedural placeholder: not a generative model at all. */
  placeholder: boolean;
  /** Backend-specific parameters worth recording (steps, sampler, …). */
  parameters: Record<string, unknown>;
}

/** One generation backend. Implementations must honour `signal` (client gone, timeout). */
export interface Generator {
  readonly name: string;
  /** The model id this backend uses when the request names none. */
  readonly defaultModel: string;
  generate(input: GenerateInput, signal: AbortSignal): Promise<GenerateOutput>;
  /** Image-to-image, on backends that support it; absent otherwise (400 `edit_not_supported`). */
  edit?(input: EditInput, signal: AbortSignal): Promise<GenerateOutput>;
  /** What `edit` honours; present exactly when `edit` is. */
  readonly editCapabilities?: EditCapabilities;
  /** Resolves when the backend answers; rejects with a HallmarkError otherwise. */
  health(signal?: AbortSignal): Promise<void>;
}
