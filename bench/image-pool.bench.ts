/**
 * Image screening as the gateway runs it: `npx tsx bench/image-pool.bench.ts [--rounds 2]`.
 * Every check on the CPU pool's two threads (src/workers), 1024² images given as raw pixels
 * (the output screen decodes once, on the main thread): one image at a time (the pool idle, so
 * each image is split over both threads: OCR on one, the other checks on the other) and 16 at
 * once (every thread busy: whole images, the throughput). Compared: the text detector's wide
 * session off (HALLMARK_OCR_WIDE_THREADS=1, as before it existed) and at the default 2. Each
 * configuration runs in a process of its own, alternately, `rounds` times, so that each row's
 * resident memory is its own (after every run above: ONNX Runtime's arenas grow with the
 * largest shapes they have seen); medians of the rounds.
 */
import { spawnSync } from "node:child_process";
import sharp, { type Sharp } from "sharp";
import { bridgeJpeg } from "../src/classify/image/test-images.js";
import { loadConfig } from "../src/config/index.js";
import { createPooledImageClassifier } from "../src/workers/image-classifier.js";
import { createCpuPool } from "../src/workers/pool.js";

interface Row {
  wide: number;
  textFreeP50: number;
  textFreeCpu: number;
  markP50: number;
  markCpu: number;
  loadedWall: number;
  loadedCpu: number;
  rssMb: number;
}

const CALLS = 15;
const CONCURRENT = 16;

async function measure(wide: number): Promise<Row> {
  const config = loadConfig({});
  const pool = createCpuPool({
    threads: 2,
    imageClassifier: {
      modelsDir: config.modelsDir,
      ocr: { ...config.ocr, wideThreads: wide },
      sessionOptions: { intraOpNumThreads: 1 },
    },
  });
  const image = await createPooledImageClassifier({
    classify: pool.classifyImage!,
    readText: pool.readImageText,
    idleThreads: pool.idleThreads,
    models: pool.imageModels!,
  });
  const raw = async (png: Sharp) => {
    const { data, info } = await png.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: 3 as const };
  };
  const base = () => sharp(bridgeJpeg()).resize(1024, 1024, { fit: "fill" });
  const textFree = await raw(base());
  const mark = await raw(
    base().composite([
      {
        input: Buffer.from(
          `<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024"><text x="512" y="520" font-family="DejaVu Sans" font-size="72" fill="#fff" fill-opacity="0.6" text-anchor="middle" transform="rotate(-20 512 512)">Getty Images</text></svg>`,
        ),
      },
    ]),
  );
  const oneAtATime = async (input: typeof textFree) => {
    for (let i = 0; i < 3; i++) await image.classify(input);
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) {
      const t = performance.now();
      await image.classify(input);
      times.push(performance.now() - t);
    }
    const cpu = process.cpuUsage(cpu0);
    return { p50: median(times), cpu: (cpu.user + cpu.system) / 1000 / CALLS };
  };
  const free = await oneAtATime(textFree);
  const marked = await oneAtATime(mark);
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENT }, () => image.classify(textFree)));
  const cpu = process.cpuUsage(cpu0);
  const row: Row = {
    wide,
    textFreeP50: free.p50,
    textFreeCpu: free.cpu,
    markP50: marked.p50,
    markCpu: marked.cpu,
    loadedWall: (performance.now() - t) / CONCURRENT,
    loadedCpu: (cpu.user + cpu.system) / 1000 / CONCURRENT,
    rssMb: process.memoryUsage().rss / 2 ** 20,
  };
  await pool.close();
  return row;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const child = process.argv.indexOf("--child");
if (child >= 0) {
  console.log(JSON.stringify(await measure(Number(process.argv[child + 1]))));
} else {
  const at = process.argv.indexOf("--rounds");
  const rounds = at >= 0 ? Number(process.argv[at + 1]) : 2;
  const rows = new Map<number, Row[]>();
  for (let r = 0; r < rounds; r++) {
    for (const wide of [1, 2]) {
      const run = spawnSync(
        process.execPath,
        ["--import", "tsx", import.meta.filename, "--child", String(wide)],
        { encoding: "utf8" },
      );
      if (run.status !== 0) throw new Error(`wide ${wide}: ${run.stderr}`);
      const line = run.stdout.trim().split("\n").at(-1)!;
      rows.set(wide, [...(rows.get(wide) ?? []), JSON.parse(line) as Row]);
    }
  }
  const med = (wide: number, key: keyof Row) => median(rows.get(wide)!.map((r) => r[key]));
  console.log(
    `node ${process.version}, CPU pool of 2 threads, 1024² raw RGB, ${rounds} rounds (medians), ${CALLS} calls one at a time, ${CONCURRENT} at once`,
  );
  console.log(
    "text detector's wide session         text-free p50 (CPU)   with a mark p50 (CPU)   16 at once: wall/image (CPU)   resident MB",
  );
  for (const wide of [1, 2]) {
    const name = wide === 1 ? "off (HALLMARK_OCR_WIDE_THREADS=1)" : "2 threads (default)";
    const cell = (p50: keyof Row, cpu: keyof Row) =>
      `${med(wide, p50).toFixed(1)} ms (${med(wide, cpu).toFixed(0)})`;
    console.log(
      `${name.padEnd(37)} ${cell("textFreeP50", "textFreeCpu").padStart(19)}   ${cell("markP50", "markCpu").padStart(21)}   ${cell("loadedWall", "loadedCpu").padStart(28)}   ${med(wide, "rssMb").toFixed(0).padStart(11)}`,
    );
  }
  const ratio = (key: keyof Row) => (med(2, key) / med(1, key)).toFixed(2);
  console.log(
    `wide / off: text-free p50 ${ratio("textFreeP50")}×, with a mark ${ratio("markP50")}×, 16 at once ${ratio("loadedWall")}×`,
  );
}
