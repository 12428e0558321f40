/**
 * A synthetic evaluation set for text in images, built with sharp (no download): stock-photo
 * marks rendered as SVG text in several fonts, sizes, angles and opacities over photos (Meta's
 * PDQ test photos, BSD, in src/provenance/fingerprint/fixtures) and noise; and the same
 * backgrounds, plus shapes, without text. Deterministic: the same list every run.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";

const FIXTURES = join(import.meta.dirname, "..", "..", "src/provenance/fingerprint/fixtures");
const PHOTOS = ["bridge-1-original.jpg", "q0003.jpg", "q2821.jpg", "blur-a-lot.jpg"];
const SIZE = 1024;

/** The marks issue 5 names, as an agency prints them, and the lexicon term each must hit. */
export const STOCK_MARKS: Array<{ text: string; term: string }> = [
  { text: "Getty Images", term: "getty images" },
  { text: "shutterstock", term: "shutterstock" },
  { text: "iStock", term: "istock" },
  { text: "Adobe Stock", term: "adobe stock" },
  { text: "alamy", term: "alamy" },
  { text: "dreamstime", term: "dreamstime" },
  { text: "123RF", term: "123rf" },
  { text: "depositphotos", term: "depositphotos" },
];

const FONTS = [
  { family: "DejaVu Sans", weight: "bold", style: "normal" },
  { family: "DejaVu Serif", weight: "normal", style: "italic" },
  { family: "DejaVu Sans Mono", weight: "normal", style: "normal" },
  { family: "DejaVu Sans", weight: "normal", style: "normal" },
];
const SIZES = [28, 44, 72, 120];
const ANGLES = [0, -30, 15, 0, 45, -90];
const OPACITIES = [0.9, 0.6, 0.45];

export interface EvalImage {
  name: string;
  /** The lexicon term the image carries, or null for a text-free image. */
  term: string | null;
  png: Buffer;
}

async function background(i: number): Promise<Buffer> {
  if (i % 5 === 4) {
    return sharp({
      create: {
        width: SIZE,
        height: SIZE,
        channels: 3,
        background: { r: 90 + ((i * 37) % 120), g: 110, b: 130 },
        noise: { type: "gaussian", mean: 128, sigma: 40 },
      },
    })
      .png()
      .toBuffer();
  }
  const photo = PHOTOS[i % PHOTOS.length]!;
  return sharp(readFileSync(join(FIXTURES, photo)))
    .resize(SIZE, SIZE, { fit: "cover" })
    .png()
    .toBuffer();
}

function markSvg(text: string, i: number): Buffer {
  const font = FONTS[i % FONTS.length]!;
  const size = SIZES[Math.floor(i / 2) % SIZES.length]!;
  const angle = ANGLES[i % ANGLES.length]!;
  const opacity = OPACITIES[i % OPACITIES.length]!;
  const fill = i % 3 === 2 ? "#000000" : "#ffffff";
  // Keep the whole mark inside the picture (a mark cut by the border is not the test here):
  // DejaVu's advance is about 0.62 em; the rotated extent bounds where the centre may go.
  const rad = (angle * Math.PI) / 180;
  const w = 0.62 * size * text.length;
  const ex = (Math.abs(Math.cos(rad)) * w + Math.abs(Math.sin(rad)) * size) / 2 + 16;
  const ey = (Math.abs(Math.sin(rad)) * w + Math.abs(Math.cos(rad)) * size) / 2 + 16;
  const fx = ((i * 97) % 101) / 100;
  const fy = ((i * 131) % 103) / 102;
  const x = Math.round(ex + fx * Math.max(0, SIZE - 2 * ex));
  const y = Math.round(ey + fy * Math.max(0, SIZE - 2 * ey));
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}"><text x="${x}" y="${y}" font-family="${font.family}" font-weight="${font.weight}" font-style="${font.style}" font-size="${size}" fill="${fill}" fill-opacity="${opacity}" text-anchor="middle" transform="rotate(${angle} ${x} ${y})">${text}</text></svg>`,
  );
}

/** `perMark` variants of each mark, and `clean` text-free images. */
export async function buildOcrEvalSet(perMark: number, clean: number): Promise<EvalImage[]> {
  const out: EvalImage[] = [];
  for (const [m, mark] of STOCK_MARKS.entries()) {
    for (let v = 0; v < perMark; v++) {
      const i = m * perMark + v;
      const png = await sharp(await background(i))
        .composite([{ input: markSvg(mark.text, i) }])
        .png()
        .toBuffer();
      out.push({ name: `${mark.term}/${v}`, term: mark.term, png });
    }
  }
  for (let i = 0; i < clean; i++) {
    let png = await background(i);
    if (i % 3 === 1) {
      // Shapes and stripes: edges that a text detector could mistake for strokes.
      const shapes = Array.from(
        { length: 12 },
        (_, k) =>
          `<rect x="${(k * 83) % 900}" y="${(k * 151 + i * 29) % 900}" width="${20 + ((k * 13) % 60)}" height="${8 + ((k * 7) % 30)}" fill="#${((k * 0x3a5f7 + i * 0x1234) & 0xffffff).toString(16).padStart(6, "0")}"/>`,
      ).join("");
      png = await sharp(png)
        .composite([
          {
            input: Buffer.from(
              `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}">${shapes}</svg>`,
            ),
          },
        ])
        .png()
        .toBuffer();
    }
    out.push({ name: `clean/${i}`, term: null, png });
  }
  return out;
}
