import { createHash } from "node:crypto";
import sharp from "sharp";
import type {
  EditInput,
  GeneratedImage,
  GenerateInput,
  GenerateOutput,
  Generator,
} from "./types.js";

export const PLACEHOLDER_MODEL = "hallmark-placeholder";
export const PLACEHOLDER_VERSION = "1";

/**
 * The embedded default backend: a deterministic procedural landscape drawn from a hash of
 * (prompt, seed). It is NOT a generative model; it exists so `npm start` works with no GPU and no
 * download, and every response names it as a placeholder. The generation-backends issue replaces
 * it with a real embedded diffusion model.
 */
export function createPlaceholderGenerator(): Generator {
  return {
    name: "placeholder",
    defaultModel: PLACEHOLDER_MODEL,
    async generate(input: GenerateInput, signal: AbortSignal): Promise<GenerateOutput> {
      const images: GeneratedImage[] = [];
      for (let i = 0; i < input.n; i++) {
        signal.throwIfAborted();
        const seed = input.seed + i;
        const raw = drawScene(input.prompt, seed, input.width, input.height);
        const bytes = await sharp(raw, {
          raw: { width: input.width, height: input.height, channels: 3 },
        })
          .png({ compressionLevel: 3 })
          .toBuffer();
        images.push({
          bytes,
          mediaType: "image/png",
          width: input.width,
          height: input.height,
          seed,
        });
      }
      return {
        images,
        model: { id: PLACEHOLDER_MODEL, version: PLACEHOLDER_VERSION },
        backend: "placeholder",
        placeholder: true,
        parameters: { method: "procedural-landscape" },
      };
    },
    editCapabilities: { mask: true, maxImages: 1, strength: true },
    /**
     * A deterministic procedural "edit", named as a placeholder like the rest: the scene drawn
     * from (prompt, seed) blended over the input by `strength` (default 0.5), only inside the
     * mask's white area when there is a mask. No model is involved.
     */
    async edit(input: EditInput, signal: AbortSignal): Promise<GenerateOutput> {
      const { width, height } = input;
      const strength = input.strength ?? PLACEHOLDER_EDIT_STRENGTH;
      const base = await sharp(input.image)
        .resize(width, height, { fit: "cover" })
        .removeAlpha()
        .toColourspace("srgb")
        .raw()
        .toBuffer();
      const mask = input.mask
        ? await sharp(input.mask)
            .resize(width, height, { fit: "cover", kernel: "nearest" })
            .extractChannel(0)
            .raw()
            .toBuffer()
        : undefined;
      const images: GeneratedImage[] = [];
      for (let i = 0; i < input.n; i++) {
        signal.throwIfAborted();
        const seed = input.seed + i;
        const scene = drawScene(input.prompt, seed, width, height);
        const out = blend(base, scene, strength, mask);
        const bytes = await sharp(out, { raw: { width, height, channels: 3 } })
          .png({ compressionLevel: 3 })
          .toBuffer();
        images.push({ bytes, mediaType: "image/png", width, height, seed });
      }
      return {
        images,
        model: { id: PLACEHOLDER_MODEL, version: PLACEHOLDER_VERSION },
        backend: "placeholder",
        placeholder: true,
        parameters: { method: "procedural-blend", strength, masked: mask !== undefined },
      };
    },
    health: async () => {},
  };
}

/** The placeholder edit's blend weight when the request gives no strength. */
export const PLACEHOLDER_EDIT_STRENGTH = 0.5;

/** `base·(1−s) + scene·s` per sample; with a mask, only where the mask is white (≥ 128). */
export function blend(base: Buffer, scene: Buffer, strength: number, mask?: Buffer): Buffer {
  const out = Buffer.allocUnsafe(base.length);
  for (let p = 0, o = 0; o < base.length; p++, o += 3) {
    const s = mask && mask[p]! < 128 ? 0 : strength;
    for (let c = 0; c < 3; c++) {
      out[o + c] = Math.round(base[o + c]! * (1 - s) + scene[o + c]! * s);
    }
  }
  return out;
}

/** A small seeded PRNG (mulberry32): deterministic across platforms. */
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

/** Sky gradient, a sun, three layers of hills and fine grain: texture like a real picture's. */
export function drawScene(prompt: string, seed: number, width: number, height: number): Buffer {
  const digest = createHash("sha256").update(`${seed}\u0000${prompt}`).digest();
  const rand = prng(digest.readUInt32LE(0));
  const hue = rand();
  const sky1 = hsl(hue, 0.6, 0.75);
  const sky2 = hsl(hue + 0.08, 0.5, 0.45);
  const sunX = rand() * width;
  const sunY = (0.15 + rand() * 0.3) * height;
  const sunR = (0.05 + rand() * 0.08) * Math.min(width, height);
  const layers = [0, 1, 2].map((k) => ({
    base: (0.45 + 0.15 * k + rand() * 0.1) * height,
    amp: (0.04 + rand() * 0.08) * height,
    freq: (1 + rand() * 3) / width,
    phase: rand() * Math.PI * 2,
    colour: hsl(hue + 0.3 + 0.05 * k, 0.45, 0.35 - 0.08 * k),
  }));
  const out = Buffer.allocUnsafe(width * height * 3);
  for (let y = 0; y < height; y++) {
    const t = y / height;
    for (let x = 0; x < width; x++) {
      let r = sky1[0] + (sky2[0] - sky1[0]) * t;
      let g = sky1[1] + (sky2[1] - sky1[1]) * t;
      let b = sky1[2] + (sky2[2] - sky1[2]) * t;
      const dx = x - sunX;
      const dy = y - sunY;
      if (dx * dx + dy * dy < sunR * sunR) [r, g, b] = [255, 236, 180];
      for (const l of layers) {
        const ridge = l.base + l.amp * Math.sin(x * l.freq * Math.PI * 2 + l.phase);
        if (y > ridge) [r, g, b] = l.colour;
      }
      const grain = (rand() - 0.5) * 12;
      const o = (y * width + x) * 3;
      out[o] = clamp(r + grain);
      out[o + 1] = clamp(g + grain);
      out[o + 2] = clamp(b + grain);
    }
  }
  return out;
}

function clamp(v: number): number {
  return v < 0 ? 0 : Math.min(v, 255);
}

function hsl(h: number, s: number, l: number): [number, number, number] {
  const hue = ((h % 1) + 1) % 1;
  const f = (n: number) => {
    const k = (n + hue * 12) % 12;
    const a = s * Math.min(l, 1 - l);
    return 255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1)));
  };
  return [f(0), f(8), f(4)];
}
