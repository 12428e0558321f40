import sharp, { type Sharp } from "sharp";
import type { RawImage } from "../types.js";
import { prng } from "./scenes.js";

/**
 * The robustness suite of issue 11, each attack done the way a platform or a user does it:
 * with sharp (libvips), re-encoded, decoded back to 8-bit pixels.
 */
export interface Attack {
  name: string;
  /** Group for the table (one line of the list). */
  family: string;
  apply(image: RawImage, seed: number): Promise<RawImage>;
}

function toSharp(img: RawImage): Sharp {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
}

async function toRaw(s: Sharp): Promise<RawImage> {
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
    channels: info.channels as RawImage["channels"],
  };
}

async function reencode(
  img: RawImage,
  format: "jpeg" | "webp",
  quality: number,
): Promise<RawImage> {
  const encoded =
    format === "jpeg"
      ? await toSharp(img).jpeg({ quality, chromaSubsampling: "4:2:0" }).toBuffer()
      : await toSharp(img).webp({ quality }).toBuffer();
  return toRaw(sharp(encoded));
}

async function crop(img: RawImage, keep: number, seed: number): Promise<RawImage> {
  // Keeps `keep` of the area with a random aspect split and a random offset.
  const rand = prng(seed);
  const side = Math.sqrt(keep);
  const skew = 0.85 + 0.3 * rand();
  const w = Math.min(img.width, Math.round(img.width * side * skew));
  const h = Math.min(img.height, Math.round((img.width * img.height * keep) / w));
  const left = Math.floor(rand() * (img.width - w + 1));
  const top = Math.floor(rand() * (img.height - h + 1));
  return toRaw(toSharp(img).extract({ left, top, width: w, height: h }));
}

async function rotate(img: RawImage, degrees: number): Promise<RawImage> {
  // Rotate about the centre and cut back to the original frame (corners filled black).
  const rotated = await toRaw(toSharp(img).rotate(degrees, { background: "#000" }));
  const left = Math.floor((rotated.width - img.width) / 2);
  const top = Math.floor((rotated.height - img.height) / 2);
  return toRaw(toSharp(rotated).extract({ left, top, width: img.width, height: img.height }));
}

async function resize(img: RawImage, factor: number): Promise<RawImage> {
  return toRaw(
    toSharp(img).resize(Math.round(img.width * factor), Math.round(img.height * factor)),
  );
}

function addNoise(img: RawImage, sigma: number, seed: number): RawImage {
  const rand = prng(seed);
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i += 2) {
    // Box–Muller: two normals per draw.
    const r = Math.sqrt(-2 * Math.log(rand() + 1e-12));
    const t = 2 * Math.PI * rand();
    data[i] = Math.max(0, Math.min(255, Math.round(img.data[i]! + sigma * r * Math.cos(t))));
    if (i + 1 < data.length) {
      data[i + 1] = Math.max(
        0,
        Math.min(255, Math.round(img.data[i + 1]! + sigma * r * Math.sin(t))),
      );
    }
  }
  return { ...img, data };
}

export const ATTACKS: Attack[] = [
  { name: "none", family: "none", apply: async (i) => i },
  { name: "jpeg q90", family: "jpeg", apply: (i) => reencode(i, "jpeg", 90) },
  { name: "jpeg q70", family: "jpeg", apply: (i) => reencode(i, "jpeg", 70) },
  { name: "jpeg q50", family: "jpeg", apply: (i) => reencode(i, "jpeg", 50) },
  { name: "webp q75", family: "webp", apply: (i) => reencode(i, "webp", 75) },
  { name: "webp q50", family: "webp", apply: (i) => reencode(i, "webp", 50) },
  { name: "resize x0.5", family: "resize", apply: (i) => resize(i, 0.5) },
  { name: "resize x0.75", family: "resize", apply: (i) => resize(i, 0.75) },
  { name: "resize x1.5", family: "resize", apply: (i) => resize(i, 1.5) },
  { name: "resize x2", family: "resize", apply: (i) => resize(i, 2) },
  {
    name: "resize to 256 short side",
    family: "resize",
    apply: (i) => resize(i, 256 / Math.min(i.width, i.height)),
  },
  { name: "crop 90% area", family: "crop", apply: (i, s) => crop(i, 0.9, s) },
  { name: "crop 70% area", family: "crop", apply: (i, s) => crop(i, 0.7, s) },
  { name: "crop 50% area", family: "crop", apply: (i, s) => crop(i, 0.5, s) },
  { name: "rotate 2°", family: "rotation", apply: (i) => rotate(i, 2) },
  { name: "rotate -5°", family: "rotation", apply: (i) => rotate(i, -5) },
  { name: "rotate 15°", family: "rotation (stretch)", apply: (i) => rotate(i, 15) },
  { name: "rotate -30°", family: "rotation (stretch)", apply: (i) => rotate(i, -30) },
  {
    name: "brightness +30%",
    family: "brightness/contrast",
    apply: (i) => toRaw(toSharp(i).linear(1.3, 0)),
  },
  {
    name: "brightness -30%",
    family: "brightness/contrast",
    apply: (i) => toRaw(toSharp(i).linear(0.7, 0)),
  },
  {
    name: "contrast +30%",
    family: "brightness/contrast",
    apply: (i) => toRaw(toSharp(i).linear(1.3, -0.3 * 128)),
  },
  {
    name: "contrast -30%",
    family: "brightness/contrast",
    apply: (i) => toRaw(toSharp(i).linear(0.7, 0.3 * 128)),
  },
  { name: "noise σ=5", family: "noise", apply: async (i, s) => addNoise(i, 5, s) },
  { name: "blur σ=1", family: "blur", apply: (i) => toRaw(toSharp(i).blur(1)) },
  { name: "flip horizontal", family: "flip (stretch)", apply: (i) => toRaw(toSharp(i).flop()) },
  {
    name: "chain: resize x0.7, crop 20%, jpeg q70",
    family: "chain",
    apply: async (i, s) => reencode(await crop(await resize(i, 0.7), 0.8, s), "jpeg", 70),
  },
];

export { toRaw, toSharp };
