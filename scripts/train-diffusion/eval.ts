/**
 * `npm run eval:diffusion`: caption consistency of the embedded diffusion model, and its sample
 * grid (docs/img/embedded-diffusion-samples.png).
 *
 * 100 captions from the training vocabulary (fixed list, seeded): 60 "a <colour> <shape> on a
 * <background> background" (half of them colour/shape/background combinations held out of
 * training, see data.py held_out), 16 suns over hills, 12 gradients, 12 stripes. Each image is
 * generated at the model's native 32×32 through the ONNX pipeline (the same code that serves
 * requests), every pixel is classified to the nearest of the ten palette colours, and the caption
 * is checked:
 *   shape:     the background colour is the most frequent, the shape colour the second;
 *   landscape: the hill colour is the most frequent in the bottom quarter, the sun colour covers
 *              at least 1% of the top half;
 *   gradient:  the first colour dominates the top quarter, the second the bottom quarter;
 *   stripes:   the two most frequent colours are the two named.
 * Chance level: the same checks against the caption of another sample (shuffled), so the figure
 * says how much the text steers the picture.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { loadOnnxSd, type SamplerName } from "../../src/generate/onnx-sd/index.js";

const root = join(import.meta.dirname, "../..");
const args = new Map(
  process.argv.slice(2).map((a) => a.replace(/^--/, "").split("=") as [string, string]),
);
const dir = args.get("dir") ?? join(root, "models/embedded-diffusion");
const steps = Number(args.get("steps") ?? 20);
const guidance = Number(args.get("guidance") ?? 7);
const sampler = (args.get("sampler") ?? "euler_a") as SamplerName;

const PALETTE: Record<string, [number, number, number]> = {
  red: [215, 35, 35],
  orange: [245, 135, 25],
  yellow: [245, 215, 35],
  green: [45, 160, 60],
  blue: [35, 85, 215],
  purple: [135, 55, 185],
  pink: [245, 135, 185],
  white: [245, 245, 245],
  black: [20, 20, 20],
  brown: [125, 75, 35],
};
const COLOURS = Object.keys(PALETTE);
const SHAPES = ["circle", "square", "triangle", "star"];

function heldOut(colour: string, shape: string, background: string): boolean {
  return createHash("sha256").update(`${colour}|${shape}|${background}`).digest()[0]! % 10 === 0;
}

/** mulberry32 */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Spec =
  | { kind: "shape"; colour: string; shape: string; background: string; heldOut: boolean }
  | { kind: "landscape"; sun: string; hills: string }
  | { kind: "gradient"; a: string; b: string }
  | { kind: "stripes"; a: string; b: string };

function caption(s: Spec): string {
  switch (s.kind) {
    case "shape":
      return `a ${s.colour} ${s.shape} on a ${s.background} background`;
    case "landscape":
      return `a ${s.sun} sun over ${s.hills} hills`;
    case "gradient":
      return `a ${s.a} to ${s.b} gradient`;
    case "stripes":
      return `${s.a} and ${s.b} stripes`;
  }
}

const rand = prng(20251127);
const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const two = (): [string, string] => {
  const a = pick(COLOURS);
  let b = pick(COLOURS);
  while (b === a) b = pick(COLOURS);
  return [a, b];
};
const specs: Spec[] = [];
for (const wantHeld of [true, false]) {
  let made = 0;
  while (made < 30) {
    const [colour, background] = two();
    const shape = pick(SHAPES);
    if (heldOut(colour, shape, background) !== wantHeld) continue;
    specs.push({ kind: "shape", colour, shape, background, heldOut: wantHeld });
    made++;
  }
}
for (let i = 0; i < 16; i++) {
  specs.push({
    kind: "landscape",
    sun: pick(["yellow", "orange", "red", "white"]),
    hills: pick(["green", "brown", "purple", "blue", "black"]),
  });
}
for (let i = 0; i < 12; i++) {
  const [a, b] = two();
  specs.push({ kind: "gradient", a, b });
}
for (let i = 0; i < 12; i++) {
  const [a, b] = two();
  specs.push({ kind: "stripes", a, b });
}

function classify(rgb: Uint8Array): string[] {
  const out: string[] = [];
  for (let p = 0; p < rgb.length; p += 3) {
    let best = "";
    let bestD = Number.POSITIVE_INFINITY;
    for (const [name, [r, g, b]] of Object.entries(PALETTE)) {
      const d = (rgb[p]! - r) ** 2 + (rgb[p + 1]! - g) ** 2 + (rgb[p + 2]! - b) ** 2;
      if (d < bestD) {
        bestD = d;
        best = name;
      }
    }
    out.push(best);
  }
  return out;
}

function ranking(labels: string[]): string[] {
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts.entries()].sort((x, y) => y[1] - x[1]).map(([k]) => k);
}

function share(labels: string[], colour: string): number {
  return labels.filter((l) => l === colour).length / Math.max(1, labels.length);
}

function consistent(spec: Spec, labels: string[], size: number): boolean {
  const rows = (from: number, to: number) => labels.slice(from * size, to * size);
  const q = size / 4;
  switch (spec.kind) {
    case "shape": {
      const r = ranking(labels);
      return r[0] === spec.background && r[1] === spec.colour;
    }
    case "landscape":
      return (
        ranking(rows(size - q, size))[0] === spec.hills &&
        share(rows(0, size / 2), spec.sun) >= 0.01
      );
    case "gradient":
      return ranking(rows(0, q))[0] === spec.a && ranking(rows(size - q, size))[0] === spec.b;
    case "stripes": {
      const r = ranking(labels).slice(0, 2);
      return r.includes(spec.a) && r.includes(spec.b);
    }
  }
}

const model = await loadOnnxSd(dir, { executionProvider: "cpu", intraOpNumThreads: 1 });
const size = model.nativeSize ?? 32;
const results: { spec: Spec; labels: string[]; rgb: Uint8Array }[] = [];
const started = Date.now();
for (const [i, spec] of specs.entries()) {
  const [image] = await model.run(
    {
      prompt: caption(spec),
      negativePrompt: "",
      width: size,
      height: size,
      n: 1,
      seed: 1000 + i,
      steps,
      sampler,
      guidanceScale: guidance,
    },
    new AbortController().signal,
  );
  results.push({ spec, labels: classify(image!.rgb), rgb: image!.rgb });
}
const seconds = (Date.now() - started) / 1000;

const rate = (rows: typeof results, spec = (r: (typeof results)[number]) => r.spec) =>
  rows.filter((r) => consistent(spec(r), r.labels, size)).length / Math.max(1, rows.length);
const byKind = (kind: string) => results.filter((r) => r.spec.kind === kind);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
// Chance: each image judged against the caption of the image 37 places on (a fixed derangement).
const shuffled = (r: (typeof results)[number]) =>
  results[(results.indexOf(r) + 37) % results.length]!.spec;
const sameKindShuffled = (r: (typeof results)[number]) => {
  const peers = byKind(r.spec.kind);
  return peers[(peers.indexOf(r) + 1) % peers.length]!.spec;
};
const report = {
  model: dir,
  steps,
  sampler,
  guidance,
  samples: results.length,
  seconds_total: seconds,
  overall: rate(results),
  overall_chance_same_kind: rate(results, sameKindShuffled),
  overall_chance_any: rate(results, shuffled),
  shape_seen: rate(byKind("shape").filter((r) => r.spec.kind === "shape" && !r.spec.heldOut)),
  shape_held_out: rate(byKind("shape").filter((r) => r.spec.kind === "shape" && r.spec.heldOut)),
  landscape: rate(byKind("landscape")),
  gradient: rate(byKind("gradient")),
  stripes: rate(byKind("stripes")),
  shape_background_dominant:
    byKind("shape").filter(
      (r) => r.spec.kind === "shape" && ranking(r.labels)[0] === r.spec.background,
    ).length / 60,
};
console.log(JSON.stringify(report, null, 1));
console.log(
  `caption consistency ${pct(report.overall)} (chance, same kind of scene: ${pct(report.overall_chance_same_kind)})`,
);

// Sample grid: 4 rows × 6 columns, each 32×32 upscaled to 96 (lanczos3, as served).
if (args.get("grid") !== "false") {
  const cell = 96;
  const chosen = [
    0, 1, 2, 3, 30, 31, 32, 33, 60, 61, 62, 63, 76, 77, 78, 79, 88, 89, 90, 91, 4, 34, 64, 80,
  ];
  const tiles = await Promise.all(
    chosen.map(async (i, k) => ({
      input: await sharp(Buffer.from(results[i]!.rgb), {
        raw: { width: size, height: size, channels: 3 },
      })
        .resize(cell, cell, { kernel: "lanczos3" })
        .png()
        .toBuffer(),
      left: (k % 6) * (cell + 4),
      top: Math.floor(k / 6) * (cell + 4),
    })),
  );
  mkdirSync(join(root, "docs/img"), { recursive: true });
  await sharp({
    create: {
      width: 6 * (cell + 4) - 4,
      height: 4 * (cell + 4) - 4,
      channels: 3,
      background: "#ffffff",
    },
  })
    .composite(tiles)
    .png()
    .toFile(join(root, "docs/img/embedded-diffusion-samples.png"));
  writeFileSync(
    join(root, "docs/img/embedded-diffusion-samples.txt"),
    `${chosen.map((i, k) => `${Math.floor(k / 6) + 1}.${(k % 6) + 1} ${caption(results[i]!.spec)}`).join("\n")}\n`,
  );
}
