/**
 * A synthetic evaluation set for text in images, built with sharp (no download): stock-photo
 * marks rendered as SVG text in several fonts, sizes, angles and opacities over photos (Meta's
 * PDQ test photos, BSD, in src/provenance/fingerprint/fixtures) and noise; and the same
 * backgrounds, plus shapes, without text. Deterministic: the same images every run (the noise
 * is drawn from a seeded generator).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { prng } from "../../src/provenance/watermark/eval/scenes.js";

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

/**
 * Gaussian noise (mean 128, sigma 40 per channel, as sharp's `create.noise` drew it before)
 * from a seeded generator: sharp draws a new sample in every process, which made the set, and
 * its figures, differ from run to run (one mark read or missed by chance).
 */
function noiseBackground(i: number): Promise<Buffer> {
  const random = prng(0x5eed + i);
  const data = Buffer.alloc(SIZE * SIZE * 3);
  for (let k = 0; k < data.length; k++) {
    // Box–Muller.
    const g = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    data[k] = Math.max(0, Math.min(255, Math.round(128 + 40 * g)));
  }
  return sharp(data, { raw: { width: SIZE, height: SIZE, channels: 3 } })
    .png()
    .toBuffer();
}

async function background(i: number): Promise<Buffer> {
  if (i % 5 === 4) return noiseBackground(i);
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

/**
 * How agencies actually draw their marks: meant to stay legible on any background, so with an
 * outline, a drop shadow, a translucent banner, or repeated across the picture. A second set,
 * reported apart from the plain one (which keeps single-opacity text, the harder case).
 */
export const MARK_STYLES = ["outline", "shadow", "banner", "tiled"] as const;
export type MarkStyle = (typeof MARK_STYLES)[number];

const STYLED_SIZES = [32, 48, 72, 110];
const STYLED_ANGLES = [0, -20, 15, 0, 30];

function styledMarkSvg(text: string, i: number, style: MarkStyle): Buffer {
  const font = FONTS[i % FONTS.length]!;
  const size = STYLED_SIZES[Math.floor(i / 2) % STYLED_SIZES.length]!;
  const angle = style === "tiled" ? -30 : STYLED_ANGLES[i % STYLED_ANGLES.length]!;
  const fontAttrs = `font-family="${font.family}" font-weight="${font.weight}" font-style="${font.style}" font-size="${size}" text-anchor="middle"`;
  const w = 0.62 * size * text.length;
  const svg = (body: string) =>
    Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}">${body}</svg>`,
    );
  if (style === "tiled") {
    // A grid of copies, every other row shifted, as agencies tile previews.
    const parts: string[] = [];
    const stepX = Math.round(w + size * 1.5);
    const stepY = Math.round(size * 3.2);
    for (let row = 0, y = stepY / 2; y < SIZE + stepY; row++, y += stepY) {
      for (let x = (row % 2) * (stepX / 2); x < SIZE + stepX; x += stepX) {
        parts.push(
          `<text x="${Math.round(x)}" y="${Math.round(y)}" ${fontAttrs} fill="#ffffff" fill-opacity="0.45" stroke="#000000" stroke-opacity="0.3" stroke-width="${Math.max(1, size / 28).toFixed(1)}" paint-order="stroke" transform="rotate(${angle} ${Math.round(x)} ${Math.round(y)})">${text}</text>`,
        );
      }
    }
    return svg(parts.join(""));
  }
  const rad = (angle * Math.PI) / 180;
  const pad = style === "banner" ? size * 0.6 : 0;
  const ex =
    (Math.abs(Math.cos(rad)) * (w + pad) + Math.abs(Math.sin(rad)) * (size + pad)) / 2 + 16;
  const ey =
    (Math.abs(Math.sin(rad)) * (w + pad) + Math.abs(Math.cos(rad)) * (size + pad)) / 2 + 16;
  const x = Math.round(ex + (((i * 89) % 97) / 96) * Math.max(0, SIZE - 2 * ex));
  const y = Math.round(ey + (((i * 61) % 89) / 88) * Math.max(0, SIZE - 2 * ey));
  const turn = `transform="rotate(${angle} ${x} ${y})"`;
  const baseline = Math.round(y + size * 0.35);
  if (style === "outline") {
    return svg(
      `<text x="${x}" y="${baseline}" ${fontAttrs} fill="#ffffff" fill-opacity="0.7" stroke="#000000" stroke-opacity="0.55" stroke-width="${Math.max(1, size / 22).toFixed(1)}" paint-order="stroke" ${turn}>${text}</text>`,
    );
  }
  if (style === "shadow") {
    const d = Math.max(1, Math.round(size / 18));
    return svg(
      `<g ${turn}><text x="${x + d}" y="${baseline + d}" ${fontAttrs} fill="#000000" fill-opacity="0.5">${text}</text><text x="${x}" y="${baseline}" ${fontAttrs} fill="#ffffff" fill-opacity="0.75">${text}</text></g>`,
    );
  }
  // banner: white text on a translucent dark band (the editorial style)
  const bw = Math.round(w + pad);
  const bh = Math.round(size + pad);
  return svg(
    `<g ${turn}><rect x="${x - bw / 2}" y="${y - bh / 2}" width="${bw}" height="${bh}" fill="#000000" fill-opacity="0.4"/><text x="${x}" y="${baseline}" ${fontAttrs} fill="#ffffff" fill-opacity="0.85">${text}</text></g>`,
  );
}

/** `perMark` images of each mark in each style (over the same backgrounds as the plain set). */
export async function buildStyledMarkSet(
  perMark: number,
): Promise<Array<EvalImage & { style: MarkStyle }>> {
  const out: Array<EvalImage & { style: MarkStyle }> = [];
  for (const [m, mark] of STOCK_MARKS.entries()) {
    for (let v = 0; v < perMark; v++) {
      const i = m * perMark + v;
      const style = MARK_STYLES[i % MARK_STYLES.length]!;
      const png = await sharp(await background(i + 1))
        .composite([{ input: styledMarkSvg(mark.text, i, style) }])
        .png()
        .toBuffer();
      out.push({ name: `${style}/${mark.term}/${v}`, term: mark.term, png, style });
    }
  }
  return out;
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
