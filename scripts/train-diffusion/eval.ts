/**
 * `npm run eval:diffusion`: does the text steer the embedded diffusion model? Also writes its
 * sample grid (docs/img/embedded-diffusion-samples.png).
 *
 * Images are generated at the model's native 32×32 through the ONNX pipeline that serves
 * requests. Two checks, each beside its chance level:
 *   colour:  the dominant colour of the picture's non-white pixels (the HSV bins of emoji.py,
 *            which captioned the training data) is the colour the prompt names. Chance: the
 *            agreement expected if the colours seen were unrelated to the colours asked.
 *   object:  the nearest training picture (RGB distance over the 32×32 pixels; the data set,
 *            hue-turned copies included, dumped by `emoji.py --dump`) is an emoji whose captions
 *            contain the prompt's object word. Chance: the share of training pictures that are.
 * Prompts: "a <colour> <object>" for 12 objects × 3 colours × 2 seeds, and the three of the
 * issue ("a red apple", "a smiling sun", "a blue car") × 6 seeds, listed with the emoji nearest
 * to each picture.
 *
 *   npm run eval:diffusion [-- --dir=models/embedded-diffusion --steps=20 --guidance=7
 *                              --sampler=euler_a --grid=false]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
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
const refDir = args.get("reference") ?? "/tmp/hallmark-emoji-reference";

// The training pictures, drawn again by the training script's own data code.
if (!existsSync(join(refDir, "index.json"))) {
  execFileSync(
    "sh",
    [
      join(root, "scripts/train-diffusion/python.sh"),
      "scripts/train-diffusion/emoji.py",
      "--dump",
      refDir,
    ],
    { stdio: "inherit" },
  );
}
const index = JSON.parse(readFileSync(join(refDir, "index.json"), "utf8")) as {
  size: number;
  items: Array<{ emoji: string; captions: string[] }>;
};
const reference = readFileSync(join(refDir, "images.raw"));
const pixels = index.size * index.size * 3;

/** The nearest training picture to `rgb` (sum of squared differences). */
function nearest(rgb: Uint8Array): number {
  let best = -1;
  let bestD = Number.POSITIVE_INFINITY;
  for (let i = 0; i < index.items.length; i++) {
    let d = 0;
    const off = i * pixels;
    for (let p = 0; p < pixels && d < bestD; p++) {
      const e = rgb[p]! - reference[off + p]!;
      d += e * e;
    }
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

const wordIn = (word: string, captions: string[]) =>
  captions.some((c) => new RegExp(`\\b${word}\\b`).test(c));

/** The dominant colour word of the non-white pixels, by emoji.py's HSV bins. */
function colourName(rgb: Uint8Array): string {
  const counts = new Map<string, number>();
  let opaque = 0;
  let chromaticCount = 0;
  let dark = 0;
  for (let p = 0; p < rgb.length; p += 3) {
    const r = rgb[p]! / 255;
    const g = rgb[p + 1]! / 255;
    const b = rgb[p + 2]! / 255;
    if (r > 0.92 && g > 0.92 && b > 0.92) continue; // the white ground
    opaque++;
    const mx = Math.max(r, g, b);
    const c = mx - Math.min(r, g, b);
    const s = mx > 0 ? c / mx : 0;
    if (mx < 0.3) dark++;
    if (!(s > 0.3 && mx > 0.25)) continue;
    chromaticCount++;
    let h = mx === r ? ((g - b) / c) % 6 : mx === g ? (b - r) / c + 2 : (r - g) / c + 4;
    h = (((h * 60) % 360) + 360) % 360;
    let name =
      h >= 345 || h < 22
        ? "red"
        : h < 42
          ? "orange"
          : h < 70
            ? "yellow"
            : h < 170
              ? "green"
              : h < 255
                ? "blue"
                : h < 290
                  ? "purple"
                  : "pink";
    if ((name === "orange" || name === "red") && mx < 0.78) name = "brown";
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  if (opaque === 0) return "white";
  if (chromaticCount / opaque < 0.3) return dark / opaque > 0.4 ? "black" : "white";
  return [...counts.entries()].sort((x, y) => y[1] - x[1])[0]![0];
}

const OBJECTS = [
  "apple",
  "sun",
  "car",
  "heart",
  "tree",
  "fish",
  "cat",
  "house",
  "flower",
  "moon",
  "banana",
  "ghost",
];
const COLOURS = ["red", "green", "blue", "yellow", "purple", "orange"];
type Spec = { prompt: string; colour?: string; object: string; seed: number; headline?: true };
const specs: Spec[] = [];
for (const [i, object] of OBJECTS.entries()) {
  for (const k of [0, 2, 4]) {
    const colour = COLOURS[(i + k) % COLOURS.length]!;
    for (const seed of [1, 2])
      specs.push({ prompt: `a ${colour} ${object}`, colour, object, seed });
  }
}
const HEADLINE: Array<Omit<Spec, "seed">> = [
  { prompt: "a red apple", colour: "red", object: "apple" },
  { prompt: "a smiling sun", colour: "yellow", object: "sun" },
  { prompt: "a blue car", colour: "blue", object: "car" },
];
for (const h of HEADLINE)
  for (let seed = 1; seed <= 6; seed++) specs.push({ ...h, seed, headline: true });

const model = await loadOnnxSd(dir, { executionProvider: "cpu", intraOpNumThreads: 1 });
const size = model.nativeSize ?? 32;
if (size !== index.size) throw new Error(`model draws ${size}px, reference is ${index.size}px`);
const started = Date.now();
const results: Array<Spec & { rgb: Uint8Array; colourSeen: string; near: number }> = [];
for (const spec of specs) {
  const [image] = await model.run(
    {
      prompt: spec.prompt,
      negativePrompt: "",
      width: size,
      height: size,
      n: 1,
      seed: spec.seed,
      steps,
      sampler,
      guidanceScale: guidance,
    },
    new AbortController().signal,
  );
  const rgb = image!.rgb;
  results.push({ ...spec, rgb, colourSeen: colourName(rgb), near: nearest(rgb) });
}
const seconds = (Date.now() - started) / 1000;

const grid = results.filter((r) => !r.headline);
const share = <T>(rows: T[], ok: (r: T, i: number) => boolean) =>
  rows.filter(ok).length / Math.max(1, rows.length);
const objectOk = (r: (typeof results)[number]) => wordIn(r.object, index.items[r.near]!.captions);
const baseRate = (object: string) => share(index.items, (it) => wordIn(object, it.captions));
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const report = {
  model: dir,
  steps,
  sampler,
  guidance,
  samples: results.length,
  seconds_total: seconds,
  colour_right: share(grid, (r) => r.colourSeen === r.colour),
  // Chance: how often the colour seen would match a prompt's colour if the two were unrelated
  // (the sum over colours of how often each is asked times how often each is seen).
  colour_chance: COLOURS.reduce(
    (a, c) => a + share(grid, (r) => r.colour === c) * share(grid, (r) => r.colourSeen === c),
    0,
  ),
  object_right: share(grid, objectOk),
  object_chance: OBJECTS.reduce((a, o) => a + baseRate(o), 0) / OBJECTS.length,
  both_right: share(grid, (r) => r.colourSeen === r.colour && objectOk(r)),
  headline: HEADLINE.map((h) => {
    const rows = results.filter((r) => r.headline && r.prompt === h.prompt);
    return {
      prompt: h.prompt,
      colour_right: share(rows, (r) => r.colourSeen === h.colour),
      object_right: share(rows, objectOk),
      nearest: rows.map((r) => index.items[r.near]!.emoji).join(" "),
    };
  }),
};
console.log(JSON.stringify(report, null, 1));
console.log(
  `colour right ${pct(report.colour_right)} (chance ${pct(report.colour_chance)}); ` +
    `object right ${pct(report.object_right)} (chance ${pct(report.object_chance)}); ` +
    `both ${pct(report.both_right)}`,
);
for (const h of report.headline) {
  console.log(
    `${h.prompt}: colour ${pct(h.colour_right)}, object ${pct(h.object_right)}, nearest ${h.nearest}`,
  );
}

// Sample grid: 6 prompts × 6 seeds, each 32×32 upscaled to 96 (lanczos3, as served).
if (args.get("grid") !== "false") {
  const cell = 96;
  const rows = [
    ...HEADLINE.map((h) => h.prompt),
    "a green tree",
    "a pink heart",
    "a yellow banana",
  ];
  const tiles: Array<{ input: Buffer; left: number; top: number }> = [];
  for (const [y, prompt] of rows.entries()) {
    for (let x = 0; x < 6; x++) {
      const [image] = await model.run(
        {
          prompt,
          negativePrompt: "",
          width: size,
          height: size,
          n: 1,
          seed: 100 + x,
          steps,
          sampler,
          guidanceScale: guidance,
        },
        new AbortController().signal,
      );
      tiles.push({
        input: await sharp(Buffer.from(image!.rgb), {
          raw: { width: size, height: size, channels: 3 },
        })
          .resize(cell, cell, { kernel: "lanczos3" })
          .png()
          .toBuffer(),
        left: x * (cell + 4),
        top: y * (cell + 4),
      });
    }
  }
  mkdirSync(join(root, "docs/img"), { recursive: true });
  await sharp({
    create: {
      width: 6 * (cell + 4) - 4,
      height: rows.length * (cell + 4) - 4,
      channels: 3,
      background: "#ffffff",
    },
  })
    .composite(tiles)
    .png()
    .toFile(join(root, "docs/img/embedded-diffusion-samples.png"));
  writeFileSync(
    join(root, "docs/img/embedded-diffusion-samples.txt"),
    `${rows.map((p, y) => `row ${y + 1}: ${p} (seeds 100-105)`).join("\n")}\n`,
  );
}
await model.release();
