import { existsSync } from "node:fs";
import path from "node:path";
import { HallmarkError } from "../errors/index.js";
import { createOnnxSdGenerator, type OnnxSdGenerator } from "./onnx-sd/index.js";

/** The model id of the embedded default model (licence: policies/licences/models.yaml). */
export const EMBEDDED_MODEL = "hallmark-embedded-diffusion";

export interface EmbeddedGeneratorOptions {
  /** The model folder, `<models dir>/embedded-diffusion` (an SD-layout ONNX export). */
  dir: string;
  /** Denoising steps (default 20). */
  steps?: number;
  /** Classifier-free guidance scale (default 7). */
  guidanceScale?: number;
  /** Where the model runs: its own worker thread (default), or the event loop (tests). */
  runOn?: "thread" | "event-loop";
}

/**
 * The default backend: Hallmark's own small text-to-image diffusion model
 * (models/embedded-diffusion, trained by scripts/train-diffusion on the Noto Color Emoji
 * pictures, captioned from Unicode CLDR's annotations),
 * run on the CPU by the same ONNX Stable Diffusion pipeline as any SD export. It denoises at its
 * native 32×32 and sharp upscales to the requested size; responses say so
 * (`parameters.native_resolution`, `upscaled`). Small and quick, and a real diffusion model: it
 * draws emoji-like pictures of what its captions named ("a red apple", "a blue car"), and
 * nothing it was not shown.
 */
export async function createEmbeddedGenerator(
  options: EmbeddedGeneratorOptions,
): Promise<OnnxSdGenerator> {
  if (!existsSync(path.join(options.dir, "model_index.json"))) {
    throw new HallmarkError(
      "config_error",
      `The embedded model is not in ${options.dir} (HALLMARK_MODELS_DIR/embedded-diffusion): ` +
        "rebuild it with `npm run train:diffusion`, or set HALLMARK_BACKEND to another backend.",
    );
  }
  return createOnnxSdGenerator({
    dir: options.dir,
    backend: "embedded",
    modelId: EMBEDDED_MODEL,
    resolution: "native",
    steps: options.steps ?? 20,
    guidanceScale: options.guidanceScale ?? 7,
    executionProvider: "cpu",
    // One thread per operator: the model is tiny, and concurrent requests then spread over cores.
    intraOpNumThreads: 1,
    // Sampling on a thread of its own: ONNX Runtime would hold the event loop for every step.
    runOn: options.runOn ?? "thread",
  });
}
