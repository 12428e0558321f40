import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type SSEMessage, streamSSE } from "hono/streaming";
import { isHallmarkError } from "../../errors/index.js";
import type { Delivery } from "../../jobs/index.js";
import {
  currentStageObserver,
  type GenerateOptions,
  type GenerationResult,
  observeStages,
  type PipelineDeps,
  type StageObserver,
} from "../../pipeline/index.js";
import type { AppEnv } from "../context.js";
import { errorBody, settleError } from "../errors.js";
import { deferQuota } from "../middleware/rate-limit-quota.js";
import { continuesUntil, requestSignal } from "../middleware/timeout.js";
import { keepHeld } from "./held.js";

/** SSE event names (`event:`); each event's JSON `data` carries the same name as `type`. */
export const STREAM_EVENTS = {
  progress: "hallmark.progress",
  completed: "image_generation.completed",
  held: "hallmark.held",
  error: "error",
} as const;

/** A comment line every so often keeps proxies from closing a quiet stream (a long queue wait). */
const KEEP_ALIVE_MS = 15_000;

/** What one `hallmark.progress` event says. */
export interface ProgressData {
  type: typeof STREAM_EVENTS.progress;
  /** A pipeline stage (docs/ARCHITECTURE.md): screen_prompt … record. */
  stage: string;
  /** `started`; `running` with `step`/`steps` (denoising); then the stage's recorded status. */
  status: "started" | "running" | "applied" | "absent" | "skipped" | "failed";
  step?: number;
  steps?: number;
  ms?: number;
  note?: string;
}

export interface StreamDeps {
  pipeline: PipelineDeps;
  delivery?: Delivery;
  /** The 200 body of the non-streaming route, sent as the completed event's data. */
  toBody: (result: GenerationResult) => Record<string, unknown>;
}

type Outcome = { ok: true; result: GenerationResult } | { ok: false; error: unknown };

/**
 * `stream: true` on POST /v1/images/generations and /v1/images/edits: the same generation or
 * edit, answered as Server-Sent Events. Only progress leaves before the end (stage names, denoising step i/n from backends
 * that report steps); the images leave once, in the `image_generation.completed` event, after
 * they were screened, marked, signed and their audit rows committed: exactly the body the
 * non-streaming route answers. A failure or refusal after the stream started is an `error`
 * event in the API's error shape (with the HTTP status it would have had).
 *
 * The stream opens only once the backend is called: everything refused or failing before that
 * (bad input, the prompt screen, model allow-list, licence) answers with its own 4xx/5xx status
 * and JSON error, as without streaming. A client that goes away cancels the generation (its
 * failure is recorded as `request_cancelled`).
 */
export async function streamGeneration(
  c: Context<AppEnv>,
  deps: StreamDeps,
  /** The use case (a generation or an edit) under the stream's signal and progress listener. */
  run: (signal: AbortSignal, options: GenerateOptions) => Promise<GenerationResult>,
  webhookUrl: string | undefined,
): Promise<Response> {
  const cancel = new AbortController();
  const signal = AbortSignal.any([requestSignal(c), cancel.signal]);
  const pending: SSEMessage[] = [];
  let wake = () => {};
  const progress = (data: Omit<ProgressData, "type">) => {
    pending.push({
      event: STREAM_EVENTS.progress,
      data: JSON.stringify({ type: STREAM_EVENTS.progress, ...data }),
    });
    wake();
  };

  let backendCalled = () => {};
  const generating = new Promise<void>((resolve) => {
    backendCalled = resolve;
  });
  // Chained to the request's own observer (metrics, tracing), which keeps seeing every stage.
  const outer = currentStageObserver();
  const observer: StageObserver = {
    around(name, fn) {
      progress({ stage: name, status: "started" });
      if (name === "generate") backendCalled();
      return outer?.around ? outer.around(name, fn) : fn();
    },
    recorded(record) {
      outer?.recorded(record);
      progress({
        stage: record.name,
        status: record.status,
        ms: record.ms,
        ...(record.note ? { note: record.note } : {}),
      });
    },
  };
  const work = observeStages(observer, () =>
    run(signal, {
      onProgress: ({ step, steps }) =>
        progress({ stage: "generate", status: "running", step, steps }),
    }),
  );
  let outcome: Outcome | undefined;
  const settled = work.then(
    (result) => {
      outcome = { ok: true, result };
      wake();
    },
    (error: unknown) => {
      outcome = { ok: false, error };
      wake();
    },
  );
  // Refused or failed before the backend: the ordinary status and error body (the throw).
  await Promise.race([work, generating]);

  // The 200 leaves now, before the outcome: the image quota is settled on the final event.
  const settleQuota = deferQuota(c);
  // The request's time limit and graceful shutdown cover the stream until it ends.
  let ended = () => {};
  continuesUntil(
    c,
    new Promise<void>((resolve) => {
      ended = resolve;
    }),
  );
  return streamSSE(c, async (stream) => {
    stream.onAbort(() => cancel.abort(new Error("the client went away")));
    const keepAlive = setInterval(() => {
      void stream.write(": keep-alive\n\n").catch(() => {});
    }, KEEP_ALIVE_MS);
    keepAlive.unref();
    try {
      for (;;) {
        while (pending.length > 0) await stream.writeSSE(pending.shift() as SSEMessage);
        if (outcome) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = () => {};
      }
      await settled;
      const last = await finalEvent(c, deps, outcome as Outcome, webhookUrl);
      // Images delivered or held keep their quota, as a 200 or 202 would; an error gives it
      // back. Settled before the event leaves, so a client that reads it sees its usage.
      await settleQuota(last.event !== STREAM_EVENTS.error);
      await stream.writeSSE(last);
    } finally {
      clearInterval(keepAlive);
      // A stream that ended before its outcome (a failed write) delivered nothing.
      await settleQuota(false);
      ended();
    }
  });
}

/** The last event: the completed body, a hold (202's body), or the error. */
async function finalEvent(
  c: Context<AppEnv>,
  deps: StreamDeps,
  outcome: Outcome,
  webhookUrl: string | undefined,
): Promise<SSEMessage> {
  try {
    if (!outcome.ok) {
      // Cancelled by the request's time limit or the shutdown deadline: say which.
      const requestAborted = requestSignal(c);
      const reason: unknown = requestAborted.reason;
      if (
        requestAborted.aborted &&
        isHallmarkError(reason) &&
        (reason.code === "request_timeout" || reason.code === "shutting_down")
      ) {
        throw reason;
      }
      throw outcome.error;
    }
    const result = outcome.result;
    if (result.held) {
      // Held for review: made and recorded, kept sealed, never sent until approved.
      if (!deps.delivery) throw new Error("a generation was held without delivery configured");
      const held = await keepHeld(deps.delivery, c.get("principal"), result, webhookUrl);
      return event(STREAM_EVENTS.held, { ...held });
    }
    return event(STREAM_EVENTS.completed, deps.toBody(result));
  } catch (thrown) {
    const { error, status, requestId } = settleError(c, thrown, { streamed: true });
    return event(STREAM_EVENTS.error, { status, ...errorBody(error, requestId) });
  }
}

function event(name: string, body: Record<string, unknown>): SSEMessage {
  return { event: name, data: JSON.stringify({ type: name, ...body }) };
}

const ProgressEventSchema = z
  .object({
    type: z.literal(STREAM_EVENTS.progress),
    stage: z.string().openapi({ example: "generate" }),
    status: z.enum(["started", "running", "applied", "absent", "skipped", "failed"]),
    step: z.number().int().optional().openapi({ description: "Denoising step done (running)" }),
    steps: z.number().int().optional().openapi({ description: "Denoising steps in all" }),
    ms: z.number().optional(),
    note: z.string().optional(),
  })
  .openapi("ImageGenerationProgressEvent", {
    description:
      "`event: hallmark.progress`: a stage started, a denoising step finished (embedded and onnx-sd backends), or a stage ended with its recorded status. Never carries image bytes.",
  });

const HeldEventSchema = z
  .object({
    type: z.literal(STREAM_EVENTS.held),
    id: z.string().uuid(),
    object: z.literal("generation"),
    status: z.literal("held"),
    location: z.string(),
  })
  .openapi("ImageGenerationHeldEvent", {
    description: "`event: hallmark.held`: held for review (the 202 body); poll the location",
  });

const ErrorEventSchema = z
  .object({
    type: z.literal(STREAM_EVENTS.error),
    status: z.number().int().openapi({ description: "The HTTP status it would have answered" }),
    error: z.record(z.string(), z.unknown()),
  })
  .openapi("ImageGenerationErrorEvent", {
    description:
      "`event: error`: the generation failed or was refused after the stream opened; `error` is the API's error object (code, message, generation_id, …)",
  });

/**
 * The `data` of each event of a streamed generation (for /openapi.json): the last one is the
 * completed event (the non-streaming 200 body plus `type`), a hold, or an error.
 */
export function streamEventSchema(completed: z.ZodObject<z.ZodRawShape>) {
  return z
    .union([
      ProgressEventSchema,
      completed
        .extend({ type: z.literal(STREAM_EVENTS.completed) })
        .openapi("ImageGenerationCompletedEvent", {
          description:
            "`event: image_generation.completed`: the screened, marked, signed and audited images, the same body as the non-streaming 200 answer",
        }),
      HeldEventSchema,
      ErrorEventSchema,
    ])
    .openapi("ImageGenerationStreamEvent", {
      description:
        "`stream: true`: Server-Sent Events, each `event: <type>` with this JSON as `data`. Progress events, then exactly one completed, held or error event.",
    });
}
