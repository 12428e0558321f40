/**
 * Pictures for calibrating the 8-bit OCR detector's activation ranges
 * (calibrate-ocr-detector.ts), disjoint from the OCR evaluation set (ocr-eval-set.ts): the
 * photos Debian's python3-skimage ships (BSD; the evaluation uses PDQ's photos and noise) and
 * the project's procedural scenes, with shop-sign words instead of the stock-photo marks, in the
 * same DejaVu families (the only fonts a bare machine has), plain, outlined, on a band or
 * repeated; a third of the pictures carry no text. Deterministic for a given skimage package.
 *
 * The photos matter: calibrated on procedural scenes alone, activation ranges came out up to
 * 2.5× wider or 2× narrower than on photos, and the 8-bit map strayed about 1.7× further from
 * the float one on photographs (docs/image-screening.md).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { makeScene, prng, SCENE_KINDS } from "../../src/provenance/watermark/eval/scenes.js";

const SIZE = 1024;
const SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data";
/** Natural photographs among skimage's data files (the rest are test patterns). */
const PHOTOS = [
  "astronaut.png",
  "chelsea.png",
  "coffee.png",
  "rocket.jpg",
  "motorcycle_left.png",
  "hubble_deep_field.jpg",
  "camera.png",
  "brick.png",
  "grass.png",
  "gravel.png",
  "coins.png",
  "moon.png",
  "retina.jpg",
  "horse.png",
];
const WORDS = [
  "Fresh Bread",
  "OPEN",
  "Harbour Café",
  "No Parking",
  "Summer Sale 50%",
  "Platform 4",
  "www.example.org",
  "Exit",
  "Bakery since 1921",
  "Tickets",
  "Hotel Miramar",
  "Flowers & Plants",
];
const FAMILIES = ["DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono"];

export interface CalibrationImage {
  name: string;
  png: Buffer;
}

function xmlText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

function textSvg(i: number, random: () => number): Buffer {
  const parts: string[] = [];
  const lines = 1 + Math.floor(random() * 3);
  for (let k = 0; k < lines; k++) {
    const word = xmlText(WORDS[Math.floor(random() * WORDS.length)]!);
    const family = FAMILIES[(i + k) % FAMILIES.length]!;
    const size = Math.round(22 + random() * 110);
    const angle = Math.round((random() - 0.5) * 80);
    const x = Math.round(SIZE * (0.25 + random() * 0.5));
    const y = Math.round(SIZE * (0.15 + random() * 0.7));
    const light = random() < 0.6;
    const fill = light ? "#ffffff" : "#101010";
    const opacity = (0.4 + random() * 0.6).toFixed(2);
    const style = (i + k) % 4;
    const stroke =
      style === 1
        ? ` stroke="${light ? "#000000" : "#ffffff"}" stroke-opacity="0.5" stroke-width="${Math.max(1, size / 24).toFixed(1)}" paint-order="stroke"`
        : "";
    const text = (tx: number, ty: number) =>
      `<text x="${tx}" y="${ty}" font-family="${family}" font-size="${size}" fill="${fill}" fill-opacity="${opacity}" text-anchor="middle"${stroke} transform="rotate(${angle} ${tx} ${ty})">${word}</text>`;
    if (style === 2) {
      const w = Math.round(0.62 * size * word.length + size);
      parts.push(
        `<g transform="rotate(${angle} ${x} ${y})"><rect x="${x - w / 2}" y="${y - size}" width="${w}" height="${Math.round(size * 1.4)}" fill="${light ? "#000000" : "#ffffff"}" fill-opacity="0.35"/></g>`,
      );
    }
    if (style === 3) {
      for (let ty = size; ty < SIZE; ty += size * 4) {
        for (let tx = size * 3; tx < SIZE; tx += Math.round(0.62 * size * word.length + size)) {
          parts.push(text(tx, Math.round(ty)));
        }
      }
    } else parts.push(text(x, y));
  }
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}">${parts.join("")}</svg>`,
  );
}

export class CalibrationSetError extends Error {
  override name = "CalibrationSetError";
}

/** Background i: skimage's photos first, then procedural scenes (one in four pictures). */
async function background(i: number): Promise<{ name: string; png: Buffer }> {
  if (i % 4 !== 3) {
    const file = PHOTOS[Math.floor((i * 3) / 4) % PHOTOS.length]!;
    const path = join(SKIMAGE, file);
    if (!existsSync(path)) {
      throw new CalibrationSetError(
        `${path} is missing: apt-get install python3-skimage (its data files are the photos)`,
      );
    }
    const png = await sharp(path)
      .resize(SIZE, SIZE, { fit: "cover" })
      .removeAlpha()
      .png()
      .toBuffer();
    return { name: file.replace(/\.\w+$/, ""), png };
  }
  const kind = SCENE_KINDS[i % SCENE_KINDS.length]!;
  const scene = makeScene(kind, SIZE, SIZE, 1000 + i);
  const png = await sharp(Buffer.from(scene.data), {
    raw: { width: scene.width, height: scene.height, channels: scene.channels },
  })
    .png()
    .toBuffer();
  return { name: kind, png };
}

/** `count` pictures, 1024×1024 PNG: every third one without text. */
export async function buildCalibrationSet(count: number): Promise<CalibrationImage[]> {
  const out: CalibrationImage[] = [];
  for (let i = 0; i < count; i++) {
    const base = await background(i);
    let img = sharp(base.png);
    const withText = i % 3 !== 2;
    if (withText) img = img.composite([{ input: textSvg(i, prng(0xca11 + i)) }]);
    out.push({
      name: `${base.name}-${i}${withText ? "-text" : ""}`,
      png: await img.png().toBuffer(),
    });
  }
  return out;
}
