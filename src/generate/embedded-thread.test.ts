import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HallmarkError } from "../errors/index.js";
import { createEmbeddedGenerator } from "./embedded.js";
import type { OnnxSdGenerator } from "./onnx-sd/index.js";
import type { GenerateInput, GenerateProgress } from "./types.js";

const DIR = new URL("../../models/embedded-diffusion", import.meta.url).pathname;
const live = () => new AbortController().signal;
const input: GenerateInput = {
  prompt: "a yellow sun over green hills",
  width: 64,
  height: 64,
  n: 2,
  seed: 42,
};

describe("the embedded model sampling on its own thread", () => {
  let threaded: OnnxSdGenerator;
  let inProcess: OnnxSdGenerator;
  beforeAll(async () => {
    [threaded, inProcess] = await Promise.all([
      createEmbeddedGenerator({ dir: DIR, steps: 8 }),
      createEmbeddedGenerator({ dir: DIR, steps: 8, runOn: "event-loop" }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([threaded.close(), inProcess.close()]);
  });

  it("gives the same bytes and the same step events as in process, for a fixed seed", async () => {
    const steps: Record<string, GenerateProgress[]> = { thread: [], loop: [] };
    const a = await threaded.generate(
      { ...input, onProgress: (p) => steps.thread?.push(p) },
      live(),
    );
    const b = await inProcess.generate(
      { ...input, onProgress: (p) => steps.loop?.push(p) },
      live(),
    );
    expect(a.images).toHaveLength(2);
    for (const [i, image] of a.images.entries()) {
      expect(image.bytes.equals(b.images[i]?.bytes as Buffer)).toBe(true);
      expect(image.seed).toBe(b.images[i]?.seed);
    }
    const { denoise_ms: _a, ...pa } = a.parameters;
    const { denoise_ms: _b, ...pb } = b.parameters;
    expect(pa).toEqual(pb);
    expect(steps.thread).toEqual(steps.loop);
    expect(steps.thread?.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("keeps the event loop free while it denoises", async () => {
    // Event-loop utilisation (the main thread's busy share) over a generation: on the thread the
    // loop only posts the request and receives the pixels; in process ONNX Runtime holds it.
    const busy = async (g: OnnxSdGenerator) => {
      const before = performance.eventLoopUtilization();
      await g.generate({ ...input, width: 32, height: 32, n: 4 }, live());
      return performance.eventLoopUtilization(before).utilization;
    };
    const onThread = await busy(threaded);
    const loop = await busy(inProcess);
    expect(onThread).toBeLessThan(0.5);
    expect(loop).toBeGreaterThan(onThread * 2);
  });

  it("stops between steps when its signal aborts, with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new HallmarkError("request_cancelled", "gone");
    const seen: number[] = [];
    const error = await threaded
      .generate(
        {
          ...input,
          onProgress: ({ step }) => {
            seen.push(step);
            if (step === 2) controller.abort(reason);
          },
        },
        controller.signal,
      )
      .catch((e: unknown) => e);
    expect(error).toBe(reason);
    // The flag is read after each step: at most the step under way finishes.
    expect(seen.length).toBeLessThan(8);
    // The thread is free again.
    const after = await threaded.generate({ ...input, n: 1 }, live());
    expect(after.images).toHaveLength(1);
  });

  it("closes without aborting the process while it loads or generates", async () => {
    // Ending a thread inside ONNX Runtime aborts the process (and this test file with it): close
    // right after loading, and at several moments of a generation.
    for (const delayMs of [-1, 0, 20, 100, 400]) {
      const g = await createEmbeddedGenerator({ dir: DIR, steps: 20 });
      const running =
        delayMs < 0
          ? []
          : [1, 2].map(() => g.generate({ ...input, n: 2 }, live()).catch((e: unknown) => e));
      await new Promise((r) => setTimeout(r, Math.max(0, delayMs)));
      await g.close();
      for (const outcome of await Promise.all(running)) {
        // Finished before the close, or cancelled by it.
        if (outcome instanceof Error) {
          expect((outcome as HallmarkError).code).toBe("shutting_down");
        }
      }
      await expect(g.generate(input, live())).rejects.toMatchObject({ code: "shutting_down" });
    }
  }, 120_000);
});
