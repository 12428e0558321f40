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
}

/**
 * An image-to-image request (OpenAI's `images/edits`, AUTOMATIC1111's img2img): the prompt and
 * output settings of a generation plus the picture to start from.
 */
export interface EditInput extends GenerateInput {
  /** The input image (PNG, JPEG or WebP bytes), already screened. */
  image: Buffer;
  /** Optional mask: where it is white the image is repainted, where black it is kept. */
  mask?: Buffer;
  /** How far from the input to move, 0 (unchanged) to 1 (ignore it). Backend default when unset. */
  strength?: number;
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
  /** Image-to-image, on backends that support it; absent otherwise. */
  edit?(input: EditInput, signal: AbortSignal): Promise<GenerateOutput>;
  /** Resolves when the backend answers; rejects with a HallmarkError otherwise. */
  health(signal?: AbortSignal): Promise<void>;
}
