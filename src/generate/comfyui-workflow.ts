import { readFile } from "node:fs/promises";
import { z } from "zod";
import { HallmarkError } from "../errors/index.js";
import type { GenerateInput } from "./types.js";

/** The txt2img workflow shipped with Hallmark (SD 1.x/2.x/XL checkpoint, KSampler, SaveImage). */
export const DEFAULT_COMFYUI_WORKFLOW_PATH = new URL("./comfyui/txt2img.json", import.meta.url);

/**
 * The img2img workflow shipped with Hallmark: LoadImage (the uploaded input) → VAEEncode →
 * SetLatentNoiseMask (LoadImageMask of the uploaded mask, red channel, white = repaint) →
 * RepeatLatentBatch (n) → KSampler with `denoise` = strength → VAEDecode → SaveImage. An edit
 * without a mask sends an all-white one: a noise mask of ones denoises everywhere, as plain
 * img2img does.
 */
export const DEFAULT_COMFYUI_EDIT_WORKFLOW_PATH = new URL(
  "./comfyui/img2img.json",
  import.meta.url,
);

/**
 * A ComfyUI workflow in API format (what "Save (API Format)" writes): node id → `class_type` and
 * `inputs`, where an input is a literal or a `[nodeId, outputIndex]` link.
 */
export const comfyWorkflowSchema = z.record(
  z.string(),
  z.object({ class_type: z.string(), inputs: z.record(z.string(), z.unknown()) }).passthrough(),
);
export type ComfyWorkflow = z.infer<typeof comfyWorkflowSchema>;

/**
 * The placeholders a template may use. A string input that is exactly a numeric placeholder
 * becomes a number; text placeholders are substituted inside strings. Substitution works on the
 * parsed object, never on JSON text, so a prompt cannot inject nodes.
 */
const NUMERIC = ["seed", "width", "height", "batch_size", "denoise"] as const;
const TEXT = ["prompt", "negative_prompt", "model", "image", "mask"] as const;

/**
 * Parses and checks a workflow template; it must at least place `{{prompt}}`, and an edit
 * (img2img) template also `{{image}}` (the uploaded input's name, for a LoadImage node).
 */
export function parseComfyWorkflow(
  value: unknown,
  kind: "txt2img" | "img2img" = "txt2img",
): ComfyWorkflow {
  const parsed = comfyWorkflowSchema.safeParse(value);
  if (!parsed.success) {
    throw new HallmarkError("config_error", "The ComfyUI workflow is not an API-format workflow.");
  }
  const text = JSON.stringify(parsed.data);
  if (!text.includes("{{prompt}}")) {
    throw new HallmarkError("config_error", "The ComfyUI workflow has no {{prompt}} placeholder.");
  }
  if (kind === "img2img" && !text.includes("{{image}}")) {
    throw new HallmarkError(
      "config_error",
      "The ComfyUI edit workflow has no {{image}} placeholder (a LoadImage node's image).",
    );
  }
  return parsed.data;
}

/** Reads a workflow template file (JSON, API format). */
export async function loadComfyWorkflow(
  path: string | URL,
  kind: "txt2img" | "img2img" = "txt2img",
): Promise<ComfyWorkflow> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new HallmarkError("config_error", `Cannot read the ComfyUI workflow ${String(path)}.`, {
      cause: error,
    });
  }
  try {
    return parseComfyWorkflow(JSON.parse(text), kind);
  } catch (error) {
    if (error instanceof HallmarkError) throw error;
    throw new HallmarkError("config_error", "The ComfyUI workflow file is not JSON.", {
      cause: error,
    });
  }
}

/** Whether an edit template places `{{mask}}` (a LoadImageMask node's image): it inpaints. */
export function comfyWorkflowTakesMask(template: ComfyWorkflow): boolean {
  return JSON.stringify(template).includes("{{mask}}");
}

/**
 * Fills a template's placeholders for one request; the template itself is not modified. For an
 * edit, `edit.image` is the uploaded input's name, `edit.mask` the uploaded mask's and
 * `edit.denoise` the strength (default 0.75).
 */
export function fillComfyWorkflow(
  template: ComfyWorkflow,
  input: GenerateInput,
  model: string,
  edit: { image?: string; mask?: string; denoise?: number } = {},
): ComfyWorkflow {
  const numbers: Record<(typeof NUMERIC)[number], number> = {
    seed: input.seed,
    width: input.width,
    height: input.height,
    batch_size: input.n,
    denoise: edit.denoise ?? 0.75,
  };
  const texts: Record<(typeof TEXT)[number], string> = {
    prompt: input.prompt,
    negative_prompt: input.negativePrompt ?? "",
    model,
    image: edit.image ?? "",
    mask: edit.mask ?? "",
  };
  const fill = (value: unknown): unknown => {
    if (typeof value === "string") {
      const exact = /^\{\{(\w+)\}\}$/.exec(value)?.[1];
      if (exact && exact in numbers) return numbers[exact as keyof typeof numbers];
      return value.replace(/\{\{(\w+)\}\}/g, (whole, name: string) =>
        name in texts ? texts[name as keyof typeof texts] : whole,
      );
    }
    if (Array.isArray(value)) return value.map(fill);
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]));
    }
    return value;
  };
  return fill(template) as ComfyWorkflow;
}
