import { randomUUID } from "node:crypto";
import { z } from "zod";
import { HallmarkError } from "../errors/index.js";
import { type ComfyWorkflow, fillComfyWorkflow, parseComfyWorkflow } from "./comfyui-workflow.js";
import { sleep } from "./retry.js";
import type { GeneratedImage, GenerateInput, GenerateOutput, Generator } from "./types.js";
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
  /** Largest image (pixels) accepted back from the upstream. */
  maxPixels: number;
  /** Checkpoint filled into `{{model}}` when the request names none. */
  defaultModel?: string;
  /** How often to ask /history whether the prompt has finished, in ms. Default 250. */
  pollIntervalMs?: number;
  fetch?: typeof fetch;
}

const LABEL = "ComfyUI";

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

  return {
    name: "comfyui",
    defaultModel,
    async generate(input: GenerateInput, signal: AbortSignal): Promise<GenerateOutput> {
      const model = input.model ?? defaultModel;
      const queued = promptResponse.safeParse(
        await json(
          "/prompt",
          { prompt: fillComfyWorkflow(template, input, model), client_id: clientId },
          signal,
        ),
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
          parameters: { prompt_id: promptId, seedPerImage: false },
        };
      } catch (error) {
        if (signal.aborted) abandon(promptId);
        throw notSafeToRetry(error);
      }
    },
    async health(signal = AbortSignal.timeout(5000)) {
      await json("/system_stats", undefined, signal);
    },
  };
}
