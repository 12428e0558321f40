/**
 * Image screening as the gateway runs it: `npx tsx bench/image-pool.bench.ts [--rounds 2]`.
 * Every check on the CPU pool's threads (src/workers), 1024² images given as raw pixels (the
 * output screen decodes once, on the main thread): one image at a time (the pool idle) and 16
 * at once (every core busy: the throughput), text-free and with a stock-photo mark. Compared:
 * the pool's two screening layouts (HALLMARK_SCREENING_LAYOUT): "shared", one copy of each
 * model (the text reader on a thread of its own, its sessions on two ONNX Runtime threads), and
 * "per-thread", a copy on each of the pool's two threads (with the text detector's wide session
 * for split screenings while both are idle). And glibc's allocator as bin/hallmark sets it
 * (HALLMARK_MALLOC=compact, the default) against glibc's defaults (`system`). Each configuration
 * runs in a process of its own, alternately, `rounds` times, so that each row's resident memory
 * is its own (after every run above: ONNX Runtime's arenas grow with the largest shapes they have
 * seen); medians of the rounds.
 */
import { spawnSync } from "node:child_process";
import sharp, { type Sharp } from "sharp";
import { bridgeJpeg } from "../src/classify/image/test-images.js";
import { COMPACT_MALLOC_TUNABLES, loadConfig } from "../src/config/index.js";
import { createPooledImageClassifier } from "../src/workers/image-classifier.js";
import { createCpuPool } from "../src/workers/pool.js";

type Layout = "shared" | "per-thread";
type Malloc = "compact" | "system";
/** The gateway's defaults first; then each with one setting changed. */
const CONFIGS: Array<{ name: string; layout: Layout; malloc: Malloc }> = [
  { name: "shared, compact malloc (default)", layout: "shared", malloc: "compact" },
  { name: "shared, glibc's malloc defaults", layout: "shared", malloc: "system" },
  { name: "per-thread, compact malloc", layout: "per-thread", malloc: "compact" },
];

interface Row {
  layout: Layout;
  textFreeP50: number;
  textFreeCpu: number;
  markP50: number;
  markCpu: number;
  loadedWall: number;
  loadedCpu: number;
  loadedMarkWall: number;
  loadedMarkCpu: number;
  rssMb: number;
}

const CALLS = 15;
const CONCURRENT = 16;

async function measure(layout: Layout): Promise<Row> {
  const config = loadConfig({});
  const pool = createCpuPool({
    threads: 2,
    screeningLayout: layout,
    imageClassifier: {
      modelsDir: config.modelsDir,
      ocr: config.ocr,
      sessionOptions: { intraOpNumThreads: 1 },
    },
  });
  const image = await createPooledImageClassifier({
    classify: pool.classifyImage!,
    readText: pool.readImageText,
    split: pool.splitScreening,
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
  const allAtOnce = async (input: typeof textFree) => {
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(Array.from({ length: CONCURRENT }, () => image.classify(input)));
    const cpu = process.cpuUsage(cpu0);
    return {
      wall: (performance.now() - t) / CONCURRENT,
      cpu: (cpu.user + cpu.system) / 1000 / CONCURRENT,
    };
  };
  const loaded = await allAtOnce(textFree);
  const loadedMark = await allAtOnce(mark);
  const row: Row = {
    layout,
    textFreeP50: free.p50,
    textFreeCpu: free.cpu,
    markP50: marked.p50,
    markCpu: marked.cpu,
    loadedWall: loaded.wall,
    loadedCpu: loaded.cpu,
    loadedMarkWall: loadedMark.wall,
    loadedMarkCpu: loadedMark.cpu,
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
  console.log(JSON.stringify(await measure(process.argv[child + 1] as Layout)));
} else {
  const at = process.argv.indexOf("--rounds");
  const rounds = at >= 0 ? Number(process.argv[at + 1]) : 2;
  const rows = new Map<string, Row[]>();
  for (let r = 0; r < rounds; r++) {
    for (const config of CONFIGS) {
      // glibc reads its tunables at exec, so the child is started with them, as bin/hallmark
      // starts the gateway.
      const { GLIBC_TUNABLES: _, ...env } = process.env;
      const run = spawnSync(
        process.execPath,
        ["--import", "tsx", import.meta.filename, "--child", config.layout],
        {
          encoding: "utf8",
          env:
            config.malloc === "compact" ? { ...env, GLIBC_TUNABLES: COMPACT_MALLOC_TUNABLES } : env,
        },
      );
      if (run.status !== 0) throw new Error(`${config.name}: ${run.stderr}`);
      const line = run.stdout.trim().split("\n").at(-1)!;
      rows.set(config.name, [...(rows.get(config.name) ?? []), JSON.parse(line) as Row]);
    }
  }
  const med = (name: string, key: keyof Row) =>
    median(rows.get(name)!.map((r) => r[key] as number));
  console.log(
    `node ${process.version}, CPU pool of 2 threads, 1024² raw RGB, ${rounds} rounds (medians), ${CALLS} calls one at a time, ${CONCURRENT} at once`,
  );
  const cell = (name: string, wall: keyof Row, cpu: keyof Row) =>
    `${med(name, wall).toFixed(1)} ms (${med(name, cpu).toFixed(0)})`;
  console.table(
    Object.fromEntries(
      CONFIGS.map(({ name }) => [
        name,
        {
          "text-free p50 (CPU ms)": cell(name, "textFreeP50", "textFreeCpu"),
          "with a mark p50 (CPU ms)": cell(name, "markP50", "markCpu"),
          "16 text-free: wall/image (CPU)": cell(name, "loadedWall", "loadedCpu"),
          "16 with a mark: wall/image (CPU)": cell(name, "loadedMarkWall", "loadedMarkCpu"),
          "resident MB": Number(med(name, "rssMb").toFixed(0)),
        },
      ]),
    ),
  );
  const [main, ...others] = CONFIGS.map((c) => c.name);
  for (const other of others) {
    const ratio = (key: keyof Row) => (med(main!, key) / med(other!, key)).toFixed(2);
    console.log(
      `default / ${other}: text-free p50 ${ratio("textFreeP50")}×, with a mark ${ratio("markP50")}×, 16 text-free ${ratio("loadedWall")}×, 16 with a mark ${ratio("loadedMarkWall")}×, resident memory ${ratio("rssMb")}×`,
    );
  }
}
