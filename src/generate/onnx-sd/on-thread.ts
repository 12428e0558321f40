/**
 * An `OnnxSdModel` whose sessions live on a worker thread of their own. onnxruntime-node's
 * `session.run` returns a promise but runs the model synchronously on the calling thread
 * (microsoft/onnxruntime#19611): in process, a request's denoising loop (a second or more per
 * image on the embedded model) held the event loop, so health checks, other requests and the
 * embedded database all waited. Here the event loop only posts the request and receives the
 * pixels; progress comes back per step and cancellation goes over through a shared flag that the
 * thread reads between steps.
 *
 * Ending a thread while ONNX Runtime loads or runs a model aborts the whole process (a
 * Napi::Error thrown from native code), so the thread is never terminated while busy: the
 * factory waits for loading, and `release` cancels the runs, waits for them to stop, and lets
 * the thread release its sessions and end by itself.
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import { HallmarkError } from "../../errors/index.js";
import { loadClipTokenizer } from "./clip-tokenizer.js";
import type { LoadOptions, OnnxSdModel, SdImage, SdRequest } from "./pipeline.js";
import type { FromThread, ThreadError, ThreadInit, ToThread } from "./thread-messages.js";

const FROM_SOURCE = import.meta.url.endsWith(".ts");

/** From TypeScript sources (tsx, vitest) the thread must register tsx first: the .mjs entry does. */
function threadFilename(): URL {
  return new URL(
    FROM_SOURCE ? "./sampling-thread-entry.mjs" : "./sampling-thread.js",
    import.meta.url,
  );
}

function toError(e: ThreadError): Error {
  return e.code ? new HallmarkError(e.code, e.message, { param: e.param }) : new Error(e.message);
}

interface Pending {
  cancel: Int32Array;
  signal: AbortSignal;
  onStep?: (done: number, total: number) => void;
  resolve(images: SdImage[]): void;
  reject(error: unknown): void;
}

/** Loads the model at `dir` on a new thread; resolves once its sessions are loaded. */
export async function loadOnnxSdOnThread(
  dir: string,
  options: LoadOptions = {},
): Promise<OnnxSdModel> {
  const tokenizer = await loadClipTokenizer(path.join(dir, "tokenizer"));
  const init: ThreadInit = { dir, options };
  const worker = new Worker(threadFilename(), { workerData: init });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closing: Promise<void> | null = null;
  let dead: Error | null = null;
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));

  const failAll = (error: Error) => {
    dead ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  worker.on("error", (error) =>
    failAll(new HallmarkError("backend_error", `The sampling thread failed: ${error.message}`)),
  );
  worker.once("exit", () =>
    failAll(new HallmarkError("backend_unavailable", "The sampling thread has ended.")),
  );

  const info = await new Promise<Extract<FromThread, { type: "ready" }>["info"]>(
    (resolve, reject) => {
      const onMessage = (message: FromThread) => {
        if (message.type === "ready") resolve(message.info);
        else if (message.type === "failed") reject(toError(message.error));
        else return;
        worker.off("message", onMessage);
        worker.off("exit", onExit);
      };
      const onExit = () =>
        reject(new HallmarkError("config_error", `The sampling thread for ${dir} ended early.`));
      worker.on("message", onMessage);
      worker.once("exit", onExit);
    },
  ).catch(async (error) => {
    // The thread reported the failure (nothing of ONNX Runtime is running) and ends by itself.
    await exited;
    throw error;
  });

  // The thread keeps the process alive only while it has work, as the in-process model did.
  worker.unref();
  worker.on("message", (message: FromThread) => {
    if (message.type === "ready" || message.type === "failed" || message.type === "closed") {
      return;
    }
    const p = pending.get(message.id);
    if (!p) return;
    if (message.type === "progress") {
      p.onStep?.(message.done, message.total);
      return;
    }
    pending.delete(message.id);
    if (pending.size === 0) worker.unref();
    if (message.type === "done") p.resolve(message.images);
    else if (message.type === "error") p.reject(toError(message.error));
    else
      p.reject(
        p.signal.aborted
          ? p.signal.reason
          : new HallmarkError("shutting_down", "The generator is closing."),
      );
  });

  function run(request: SdRequest, signal: AbortSignal): Promise<SdImage[]> {
    signal.throwIfAborted();
    if (closing) {
      return Promise.reject(new HallmarkError("shutting_down", "The generator is closing."));
    }
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    const { onStep, ...plain } = request;
    return new Promise<SdImage[]>((resolve, reject) => {
      const onAbort = () => Atomics.store(cancel, 0, 1);
      signal.addEventListener("abort", onAbort, { once: true });
      const done = () => signal.removeEventListener("abort", onAbort);
      pending.set(id, {
        cancel,
        signal,
        onStep,
        resolve: (images) => {
          done();
          resolve(images);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      worker.ref();
      const message: ToThread = { type: "run", id, request: plain, cancel, progress: !!onStep };
      worker.postMessage(message);
    });
  }

  async function release(): Promise<void> {
    closing ??= (async () => {
      if (!dead) {
        // Cancel what runs (the thread stops at its next step), then let the thread finish its
        // runs, release its sessions and end by itself: never terminate it inside ONNX Runtime.
        for (const p of pending.values()) Atomics.store(p.cancel, 0, 1);
        worker.ref();
        worker.postMessage({ type: "close" } satisfies ToThread);
      }
      await exited;
    })();
    return closing;
  }

  return {
    dir,
    tokenizer,
    ...info,
    run,
    release,
  };
}
