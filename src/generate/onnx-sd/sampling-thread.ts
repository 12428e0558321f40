/**
 * The sampling thread's side (see on-thread.ts): loads the ONNX Stable Diffusion sessions and
 * runs whole requests (text encoding, the UNet denoising loop, VAE decoding) on this thread, so
 * that onnxruntime-node's synchronous `session.run` (microsoft/onnxruntime#19611) never holds the
 * gateway's event loop. The same `loadOnnxSd` runs here as in process, so the images are the
 * same bytes.
 */
import { parentPort, workerData } from "node:worker_threads";
import { isHallmarkError } from "../../errors/index.js";
import { loadOnnxSd, type OnnxSdModel } from "./pipeline.js";
import type { FromThread, ThreadError, ThreadInit, ToThread } from "./thread-messages.js";

const port = parentPort;
if (!port) throw new Error("sampling-thread.ts runs as a worker thread");
const post = (message: FromThread, transfer: ArrayBuffer[] = []) =>
  port.postMessage(message, transfer);

function errorData(error: unknown): ThreadError {
  if (isHallmarkError(error)) {
    return { code: error.code, message: error.message, param: error.param };
  }
  return {
    code: null,
    message: error instanceof Error ? error.message : String(error),
    param: null,
  };
}

/**
 * Ends the thread once nothing of ONNX Runtime runs: closing the port lets it end (after the
 * messages already posted are delivered); the timer covers a handle left open (the tsx loader).
 */
function end(): void {
  port?.close();
  setTimeout(() => process.exit(0), 2000).unref();
}

const init = workerData as ThreadInit;
let model: OnnxSdModel | null = null;
/** Runs under way: close waits for them (the owner cancels them first). */
const running = new Set<Promise<void>>();

async function run(message: Extract<ToThread, { type: "run" }>): Promise<void> {
  const { id, cancel } = message;
  const cancelled = () => Atomics.load(cancel, 0) !== 0;
  // The pipeline checks its signal before each denoising step and before decoding; the shared
  // flag is read after every step (this thread's event loop is busy, so a message would wait).
  const controller = new AbortController();
  if (cancelled()) return post({ type: "cancelled", id });
  try {
    const images = await (model as OnnxSdModel).run(
      {
        ...message.request,
        onStep: (done, total) => {
          if (message.progress) post({ type: "progress", id, done, total });
          if (cancelled()) controller.abort();
        },
      },
      controller.signal,
    );
    post(
      { type: "done", id, images },
      images.map((i) => i.rgb.buffer as ArrayBuffer),
    );
  } catch (error) {
    if (controller.signal.aborted) post({ type: "cancelled", id });
    else post({ type: "error", id, error: errorData(error) });
  }
}

port.on("message", (message: ToThread) => {
  if (message.type === "run") {
    const p = run(message);
    running.add(p);
    void p.finally(() => running.delete(p));
  } else if (message.type === "close") {
    void (async () => {
      await Promise.all(running);
      await model?.release().catch(() => {});
      model = null;
      post({ type: "closed" });
      end();
    })();
  }
});

try {
  model = await loadOnnxSd(init.dir, init.options);
  post({
    type: "ready",
    info: {
      scheduler: model.scheduler,
      latentChannels: model.latentChannels,
      vaeScaleFactor: model.vaeScaleFactor,
      scalingFactor: model.scalingFactor,
      nativeSize: model.nativeSize,
      executionProvider: model.executionProvider,
      canImg2Img: model.canImg2Img,
    },
  });
} catch (error) {
  post({ type: "failed", error: errorData(error) });
  end();
}
