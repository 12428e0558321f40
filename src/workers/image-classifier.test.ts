import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createImageClassifier,
  type ImageClassifier,
  type ImageResult,
} from "../classify/image/index.js";
import { bridgeJpeg } from "../classify/image/test-images.js";
import { createTextClassifier, type TextClassifier } from "../classify/text/index.js";
import { HallmarkError } from "../errors/index.js";
import { createPooledImageClassifier, type PooledClassifierOptions } from "./image-classifier.js";
import { type CpuPool, createCpuPool } from "./pool.js";

const ROOT = join(import.meta.dirname, "..", "..");
/** Raw pixels for the pool's PDQ task (keeps the general thread busy). */
const bridgeRaw = await sharp(bridgeJpeg())
  .removeAlpha()
  .raw()
  .toBuffer({ resolveWithObject: true })
  .then(({ data, info }) => ({
    data,
    width: info.width,
    height: info.height,
    channels: 3 as const,
  }));
const options = { modelsDir: join(ROOT, "models"), sessionOptions: { intraOpNumThreads: 1 } };

/** The gateway's classifier on a pool: split as the pool says, text scored with `textScreen`. */
function pooledOn(pool: CpuPool, textScreen?: TextClassifier) {
  return createPooledImageClassifier({
    classify: pool.classifyImage!,
    readText: pool.readImageText,
    split: () => pool.splitScreening(),
    models: pool.imageModels!,
    textScreen,
  });
}

/** The bridge photo, 800×502 PNG, with `mark` written across it in bold white. */
function stampedBridge(mark: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="502"><text x="400" y="260" font-family="DejaVu Sans" font-weight="bold" font-size="64" fill="#fff" text-anchor="middle">${mark}</text></svg>`;
  return sharp(bridgeJpeg())
    .resize(800, 502)
    .composite([{ input: Buffer.from(svg) }])
    .png()
    .toBuffer();
}

/** A pool in the shared screening layout for `use`, closed after it. */
async function withSharedPool(
  threads: number,
  imageClassifier: PooledClassifierOptions,
  use: (pool: CpuPool) => Promise<void>,
) {
  const pool = createCpuPool({ threads, screeningLayout: "shared", imageClassifier });
  try {
    await use(pool);
  } finally {
    await pool.close();
  }
}

/** The result without its timings, which differ from run to run. */
function comparable(r: ImageResult) {
  const { timings: _timings, ...rest } = r;
  return rest;
}

describe("image screening on the CPU pool's threads", () => {
  let pool: CpuPool;
  let pooled: ImageClassifier;
  let split: ImageClassifier;
  let inline: ImageClassifier;
  let text: TextClassifier;
  beforeAll(async () => {
    text = await createTextClassifier({ lexiconDir: join(ROOT, "policies/lexicons") });
    // Split screenings read text with a two-thread detector session (as the gateway's default),
    // and must read what one thread reads.
    pool = createCpuPool({ threads: 2, imageClassifier: { ...options, ocr: { wideThreads: 2 } } });
    pooled = await createPooledImageClassifier({
      classify: pool.classifyImage!,
      models: pool.imageModels!,
      textScreen: text,
    });
    split = await pooledOn(pool, text);
    inline = await createImageClassifier({ ...options, textScreen: text });
  });
  afterAll(async () => {
    await pool.close();
    await inline.close();
    await text.close();
  });

  it("loads the same models and gives the same result as the in-process classifier", async () => {
    expect(pooled.models).toEqual(inline.models);
    expect(pooled.versions).toEqual(inline.versions);
    expect(pooled.models.nsfw).toBe(true);
    const portrait = readFileSync(join(ROOT, "src/classify/image/fixtures/astronaut.jpg"));
    for (const input of [portrait, bridgeJpeg()]) {
      const [a, b] = await Promise.all([pooled.classify(input), inline.classify(input)]);
      expect(comparable(a)).toEqual(comparable(b));
    }
  });

  it("scores the text it reads against the lexicons on the main thread", async () => {
    const stamped = await stampedBridge("Shutterstock");
    const r = await pooled.classify(stamped);
    expect(r.sources.ocr).toBe(true);
    expect(r.scores["intellectual-property"].score).toBeGreaterThanOrEqual(0.8);
    expect(r.scores["intellectual-property"].spans).toContainEqual(
      expect.objectContaining({ term: "shutterstock", source: "ocr" }),
    );
  });

  it("splits one image over two idle threads (text apart), with the same answer", async () => {
    const stamped = await stampedBridge("Getty Images");
    const portrait = readFileSync(join(ROOT, "src/classify/image/fixtures/astronaut.jpg"));
    for (const input of [stamped, portrait]) {
      expect(pool.idleThreads()).toBe(2);
      const before = pool.tasksRun;
      const a = await split.classify(input, { ageFromSexual: 0.5 });
      expect(pool.tasksRun - before).toBe(2); // classify without text + read text
      const b = await inline.classify(input, { ageFromSexual: 0.5 });
      expect(comparable(a)).toEqual(comparable(b));
    }
    const r = await split.classify(stamped);
    expect(r.sources.ocr).toBe(true);
    expect(r.scores["intellectual-property"].spans).toContainEqual(
      expect.objectContaining({ term: "getty images", source: "ocr" }),
    );
    // Busy threads: an image goes to one thread whole.
    const busy = [1, 2].map(() => pool.classifyImage!(bridgeJpeg()));
    expect(pool.idleThreads()).toBe(0);
    const before = pool.tasksRun;
    const whole = await split.classify(portrait);
    expect(pool.tasksRun - before).toBe(1);
    expect(comparable(whole)).toEqual(comparable(await inline.classify(portrait)));
    await Promise.all(busy);
    // Bad input is refused the same way when split.
    const error = await split.classify(new TextEncoder().encode("not an image")).catch((e) => e);
    expect(error).toBeInstanceOf(HallmarkError);
    expect((error as HallmarkError).code).toBe("invalid_image");
  });

  it("in the shared layout: one copy of each model, every image split, the same answer", async () => {
    await withSharedPool(1, { ...options, ocr: { wideThreads: 2 } }, async (shared) => {
      expect(shared.screeningLayout).toBe("shared");
      expect(shared.screeningThreads).toEqual({ text: 1, other: 1 });
      const images = await pooledOn(shared, text);
      // The models of the two screening threads, joined: what one in-process classifier loads.
      expect(images.models).toEqual(inline.models);
      expect(images.versions).toEqual(inline.versions);
      // The text thread alone reads no nudity; the other thread alone reads no text.
      const bare = await shared.classifyImage!(bridgeJpeg());
      expect(bare.ok && bare.result.sources).toMatchObject({ nsfw: true, ocr: false });
      const stamped = await stampedBridge("iStock");
      const portrait = readFileSync(join(ROOT, "src/classify/image/fixtures/astronaut.jpg"));
      // Busy or idle, every image is split (the general thread's work does not change that).
      const busy = [1, 2].map(() => shared.pdq(bridgeRaw));
      for (const input of [stamped, portrait]) {
        expect(shared.splitScreening()).toBe(true);
        const before = shared.tasksRun;
        const a = await images.classify(input, { ageFromSexual: 0.5 });
        expect(shared.tasksRun - before).toBe(2); // classify without text + read text
        expect(comparable(a)).toEqual(
          comparable(await inline.classify(input, { ageFromSexual: 0.5 })),
        );
      }
      await Promise.all(busy);
      const r = await images.classify(stamped);
      expect(r.scores["intellectual-property"].spans).toContainEqual(
        expect.objectContaining({ term: "istock", source: "ocr" }),
      );
      const error = await images.classify(new TextEncoder().encode("not an image")).catch((e) => e);
      expect(error).toBeInstanceOf(HallmarkError);
      expect((error as HallmarkError).code).toBe("invalid_image");
    });
  });

  it("in the shared layout with four pool threads: two copies of each model, the same answers", async () => {
    await withSharedPool(4, options, async (shared) => {
      expect(shared.screeningThreads).toEqual({ text: 2, other: 2 });
      const images = await pooledOn(shared, text);
      const portrait = readFileSync(join(ROOT, "src/classify/image/fixtures/astronaut.jpg"));
      const inputs = [portrait, bridgeJpeg(), portrait, bridgeJpeg()];
      const pooledResults = await Promise.all(inputs.map((i) => images.classify(i)));
      for (const [i, input] of inputs.entries()) {
        expect(comparable(pooledResults[i]!)).toEqual(comparable(await inline.classify(input)));
      }
    });
  });

  it("in the shared layout without OCR: no text thread, nothing read", async () => {
    await withSharedPool(1, { ...options, ocr: false }, async (shared) => {
      expect(shared.readImageText).toBeUndefined();
      expect(shared.screeningThreads).toEqual({ text: 0, other: 1 });
      const models = await shared.imageModels!();
      expect(models.models).toEqual({ nsfw: true, faces: true, ocr: false });
      const images = await pooledOn(shared);
      const r = await images.classify(bridgeJpeg());
      expect(r.sources).toMatchObject({ nsfw: true, ocr: false });
    });
  });

  it("turns a thread's refusal of bad input back into a HallmarkError", async () => {
    const error = await pooled.classify(new TextEncoder().encode("not an image")).catch((e) => e);
    expect(error).toBeInstanceOf(HallmarkError);
    expect((error as HallmarkError).code).toBe("invalid_image");
  });

  it("closes cleanly while its threads still load or run models", async () => {
    // Ending a thread inside ONNX Runtime aborts the process (and this test file with it):
    // close at once (models loading), and at several moments of a screening.
    for (const delayMs of [-1, 0, 30, 120, 300]) {
      const pool = createCpuPool({
        threads: 2,
        imageClassifier: options,
        // Both layouts: the shared one ends three groups of threads.
        screeningLayout: delayMs % 60 === 0 ? "shared" : "per-thread",
      });
      if (delayMs >= 0) await pool.imageModels!();
      // A copy of each model per two threads in the shared layout, one per thread otherwise.
      expect(pool.screeningThreads).toEqual(
        pool.screeningLayout === "shared" ? { text: 1, other: 1 } : { text: 2, other: 2 },
      );
      const running = [1, 2, 3, 4].map(() => pool.classifyImage!(bridgeJpeg()).catch(() => null));
      await new Promise((r) => setTimeout(r, Math.max(0, delayMs)));
      await pool.close();
      await Promise.all(running);
    }
  }, 120_000);

  it("keeps the event loop free while the threads screen", async () => {
    // Event-loop utilisation (the main thread's busy share) while four screenings run: on the
    // pool the loop only posts and receives; in process, ONNX Runtime holds it for every run.
    const busy = async (images: ImageClassifier) => {
      const before = performance.eventLoopUtilization();
      await Promise.all([1, 2, 3, 4].map(() => images.classify(bridgeJpeg())));
      return performance.eventLoopUtilization(before).utilization;
    };
    const onPool = await busy(pooled);
    const inProcess = await busy(inline);
    expect(onPool).toBeLessThan(0.5);
    expect(inProcess).toBeGreaterThan(onPool * 2);
  });
});
