import { randomUUID } from "node:crypto";
import sharp from "sharp";
import { z } from "zod";
import { HallmarkError } from "../errors/index.js";
import {
  type ComfyWorkflow,
  comfyWorkflowTakesMask,
  fillComfyWorkflow,
  parseComfyWorkflow,
} from "./comfyui-workflow.js";
import { sleep } from "./retry.js";
import type {
  EditInput,
  GeneratedImage,
  GenerateInput,
  GenerateOutput,
  Generator,
} from "./types.js";
import {
  notSafeToRetry,
  readUpstreamBytes,
  readUpstreamJson,
  requestUpstream,
} from "./upstream-http.js";
import { checkUpstreamImage } from "./upstream-image.js";

export interface ComfyUIOptions {
  /** Base URL of the ComfyUI server, e.g. http://gpu-2:8188. */
  url: string;
  /** The API-format workflow template (see comfyui-workflow.ts for its placeholders). */
  workflow: unknown;
  /**
   * The img2img template (must place `{{image}}`; `{{denoise}}` takes the strength; a template
   * that places `{{mask}}` inpaints). Absent: the backend has no `edit` and edits are refused
   * with `edit_not_supported`.
   */
  editWorkflow?: unknown;
  /** Largest image (pixels) accepted back from the upstream. */
  maxPixels: number;
  /** Checkpoint filled into `{{model}}` when the request names none. */
  defaultModel?: string;
  /** How often to ask /history whether the prompt has finished, in ms. Default 250. */
  pollIntervalMs?: number;
  fetch?: typeof fetch;
}

const LABEL = "ComfyUI";

/** `POST /upload/image`'s answer: where ComfyUI stored the file (LoadImage reads it from there). */
const uploadResponse = z
  .object({
    name: z.string().min(1),
    subfolder: z.string().default(""),
    type: z.string().optional(),
  })
  .passthrough();

/** `POST /prompt`'s answer. */
const promptResponse = z.object({ prompt_id: z.string().min(1) }).passthrough();

const imageRef = z.object({
  filename: z.string(),
  subfolder: z.string().default(""),
  type: z.string().default("output"),
});

/** One entry of `GET /history/{prompt_id}`: `{ [prompt_id]: { outputs, status } }`, `{}` until done. */
const historyEntry = z
  .object({
    outputs: z
      .record(z.string(), z.object({ images: z.array(imageRef).optional() }).passthrough())
      .default({}),
    status: z
      .object({ status_str: z.string().optional(), completed: z.boolean().optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

/**
 * The ComfyUI backend over its HTTP API: the workflow template filled in for the request is
 * queued with `POST /prompt`, `GET /history/{prompt_id}` is polled until it lists the outputs,
 * and each saved image is fetched with `GET /view?filename=&subfolder=&type=`. Only the first
 * request can be retried safely; once ComfyUI has queued the prompt, a later failure is final (a
 * retry would render it twice). When the signal aborts after queueing, the prompt is deleted from
 * the queue and interrupted if running, so the GPU stops working for a client that left.
 *
 * A batch shares one latent noise seed in ComfyUI, so every image reports the request's seed.
 *
 * @example
 * const workflow = await loadComfyWorkflow(DEFAULT_COMFYUI_WORKFLOW_PATH);
 * const g = createComfyUIGenerator({ url: "http://gpu-2:8188", workflow, maxPixels: 4_194_304 });
 */
export function createComfyUIGenerator(options: ComfyUIOptions): Generator {
  const base = options.url.replace(/\/$/, "");
  const doFetch = options.fetch ?? fetch;
  const template: ComfyWorkflow = parseComfyWorkflow(options.workflow);
  const editTemplate: ComfyWorkflow | undefined =
    options.editWorkflow === undefined
      ? undefined
      : parseComfyWorkflow(options.editWorkflow, "img2img");
  const takesMask = editTemplate !== undefined && comfyWorkflowTakesMask(editTemplate);
  const defaultModel = options.defaultModel ?? "v1-5-pruned-emaonly.safetensors";
  const pollMs = options.pollIntervalMs ?? 250;
  const clientId = randomUUID();
  // A PNG of maxPixels RGBA pixels, uncompressed, plus headroom: anything larger is not our image.
  const maxBytes = options.maxPixels * 4 + 1_048_576;

  async function json(path: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    const response = await requestUpstream({
      fetch: doFetch,
      label: LABEL,
      url: `${base}${path}`,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      mapError: (status) =>
        status === 400
          ? new HallmarkError("backend_error", `The ${LABEL} backend rejected the workflow.`)
          : undefined,
    });
    return readUpstreamJson(response, LABEL, signal);
  }

  /** Best effort: drop the prompt from the queue and interrupt it if it is running. */
  function abandon(promptId: string): void {
    const quick = AbortSignal.timeout(2000);
    const post = (path: string, body: unknown) =>
      doFetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: quick,
      })
        .then((r) => r.body?.cancel())
        .catch(() => {});
    void post("/queue", { delete: [promptId] });
    void post("/interrupt", { prompt_id: promptId });
  }

  async function waitForOutputs(promptId: string, signal: AbortSignal) {
    for (;;) {
      const history = z
        .record(z.string(), z.unknown())
        .safeParse(await json(`/history/${encodeURIComponent(promptId)}`, undefined, signal));
      if (!history.success) {
        throw new HallmarkError(
          "backend_error",
          `The ${LABEL} backend sent an unexpected history.`,
        );
      }
      const raw = history.data[promptId];
      if (raw !== undefined) {
        const entry = historyEntry.safeParse(raw);
        if (!entry.success) {
          throw new HallmarkError(
            "backend_error",
            `The ${LABEL} backend sent an unexpected history.`,
          );
        }
        if (entry.data.status?.status_str === "error") {
          throw new HallmarkError("backend_error", `The ${LABEL} workflow failed while running.`);
        }
        if (entry.data.status?.completed !== false) return entry.data.outputs;
      }
      await sleep(pollMs, signal);
    }
  }

  /** Queues a filled workflow, waits for it, and fetches and checks its first `n` images. */
  async function runWorkflow(
    workflow: ComfyWorkflow,
    input: GenerateInput,
    model: string,
    signal: AbortSignal,
    parameters: Record<string, unknown> = {},
  ): Promise<GenerateOutput> {
    const queued = promptResponse.safeParse(
      await json("/prompt", { prompt: workflow, client_id: clientId }, signal),
    );
    if (!queued.success) {
      throw new HallmarkError("backend_error", `The ${LABEL} backend did not queue the prompt.`);
    }
    const promptId = queued.data.prompt_id;
    try {
      const outputs = await waitForOutputs(promptId, signal);
      const refs = Object.keys(outputs)
        .sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))
        .flatMap((node) => outputs[node]?.images ?? [])
        .filter((ref) => ref.type === "output")
        .slice(0, input.n);
      if (refs.length < input.n) {
        throw new HallmarkError(
          "backend_error",
          `The backend returned ${refs.length} of ${input.n} images.`,
        );
      }
      const images: GeneratedImage[] = [];
      for (const ref of refs) {
        const query = new URLSearchParams(ref).toString();
        const response = await requestUpstream({
          fetch: doFetch,
          label: LABEL,
          url: `${base}/view?${query}`,
          signal,
        });
        const bytes = await readUpstreamBytes(response, LABEL, signal, maxBytes);
        images.push(await checkUpstreamImage(bytes, input, input.seed, options.maxPixels));
      }
      return {
        images,
        model: { id: model, version: "unknown" },
        backend: "comfyui",
        placeholder: false,
        parameters: { prompt_id: promptId, seedPerImage: false, ...parameters },
      };
    } catch (error) {
      if (signal.aborted) abandon(promptId);
      throw notSafeToRetry(error);
    }
  }

  /**
   * `POST /upload/image` (multipart `image`, `type: input`, `overwrite`): stores the input where
   * a LoadImage node finds it. The name is random, so concurrent edits never read each other's.
   */
  async function upload(bytes: Buffer, signal: AbortSignal): Promise<string> {
    const form = new FormData();
    form.append(
      "image",
      new Blob([new Uint8Array(bytes)], { type: "image/png" }),
      `hallmark-${randomUUID()}.png`,
    );
    form.append("type", "input");
    form.append("overwrite", "true");
    const response = await requestUpstream({
      fetch: doFetch,
      label: LABEL,
      url: `${base}/upload/image`,
      body: form,
      signal,
    });
    const stored = uploadResponse.safeParse(await readUpstreamJson(response, LABEL, signal));
    if (!stored.success) {
      throw new HallmarkError("backend_error", `The ${LABEL} backend did not store the input.`);
    }
    return stored.data.subfolder
      ? `${stored.data.subfolder}/${stored.data.name}`
      : stored.data.name;
  }

  return {
    name: "comfyui",
    defaultModel,
    generate(input: GenerateInput, signal: AbortSignal): Promise<GenerateOutput> {
      const model = input.model ?? defaultModel;
      return runWorkflow(fillComfyWorkflow(template, input, model), input, model, signal);
    },
    ...(editTemplate
      ? {
          editCapabilities: { mask: takesMask, maxImages: 1, strength: true },
          /**
           * img2img: upload the input (and, for a template with `{{mask}}`, the mask: the
           * request's, or all white to repaint everywhere), then the edit template with
           * `{{image}}`, `{{mask}}` and `{{denoise}}`.
           */
          async edit(input: EditInput, signal: AbortSignal): Promise<GenerateOutput> {
            const model = input.model ?? defaultModel;
            const image = await upload(input.image, signal);
            const mask = takesMask
              ? await upload(input.mask ?? (await whiteMask(input.width, input.height)), signal)
              : undefined;
            const denoise = input.strength ?? 0.75;
            const workflow = fillComfyWorkflow(editTemplate, input, model, {
              image,
              ...(mask === undefined ? {} : { mask }),
              denoise,
            });
            return runWorkflow(workflow, input, model, signal, {
              denoise,
              ...(input.mask ? { masked: true } : {}),
            });
          },
        }
      : {}),
    async health(signal = AbortSignal.timeout(5000)) {
      await json("/system_stats", undefined, signal);
    },
  };
}

/** An all-white greyscale PNG: a noise mask of ones, which denoises everywhere. */
function whiteMask(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: "#ffffff" } })
    .greyscale()
    .png()
    .toBuffer();
}
