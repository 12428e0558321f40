import type { RawImage } from "../types.js";

/**
 * Procedural test scenes, made by this code so the evaluation set needs no downloaded or
 * licensed images. Each kind stands for a class of generated image a gateway sees: textured
 * landscapes, studio shots with flat backdrops, flat vector illustrations, cities, foliage,
 * portraits, low-light scenes. Deterministic for a given seed.
 */

export const SCENE_KINDS = [
  "landscape",
  "studio",
  "illustration",
  "city",
  "foliage",
  "portrait",
  "marble",
  "night",
] as const;
export type SceneKind = (typeof SCENE_KINDS)[number];

/** mulberry32: a small seeded PRNG, good enough for pictures. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Value-noise fBm field in [-1, 1]-ish, `octaves` from `period` pixels down by halves. */
function fbm(
  w: number,
  h: number,
  rand: () => number,
  period: number,
  octaves: number,
  gain = 0.55,
): Float32Array {
  const out = new Float32Array(w * h);
  let amp = 1;
  for (let o = 0; o < octaves; o++, period /= 2, amp *= gain) {
    const p = Math.max(1.5, period);
    const gx = Math.ceil(w / p) + 2;
    const gy = Math.ceil(h / p) + 2;
    const lattice = new Float32Array(gx * gy);
    for (let i = 0; i < lattice.length; i++) lattice[i] = rand() * 2 - 1;
    for (let y = 0; y < h; y++) {
      const fy = y / p;
      const j = Math.floor(fy);
      let ty = fy - j;
      ty = ty * ty * (3 - 2 * ty);
      for (let x = 0; x < w; x++) {
        const fx = x / p;
        const i = Math.floor(fx);
        let tx = fx - i;
        tx = tx * tx * (3 - 2 * tx);
        const a = lattice[j * gx + i]!;
        const b = lattice[j * gx + i + 1]!;
        const c = lattice[(j + 1) * gx + i]!;
        const d = lattice[(j + 1) * gx + i + 1]!;
        out[y * w + x]! += amp * (a + tx * (b - a) + ty * (c + tx * (d - c) - a - tx * (b - a)));
      }
    }
  }
  return out;
}

type Rgb = [number, number, number];
const mix = (a: Rgb, b: Rgb, t: number): Rgb => [
  a[0] + (b[0] - a[0]) * t,
  a[1] + (b[1] - a[1]) * t,
  a[2] + (b[2] - a[2]) * t,
];
const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

function canvas(w: number, h: number): RawImage {
  return { width: w, height: h, channels: 3, data: new Uint8Array(w * h * 3) };
}

function put(img: RawImage, x: number, y: number, c: Rgb): void {
  const p = (y * img.width + x) * 3;
  img.data[p] = clamp8(c[0]);
  img.data[p + 1] = clamp8(c[1]);
  img.data[p + 2] = clamp8(c[2]);
}

function randColour(rand: () => number): Rgb {
  return [rand() * 255, rand() * 255, rand() * 255];
}

/** One procedural scene of the given kind and size. */
export function makeScene(kind: SceneKind, w: number, h: number, seed: number): RawImage {
  const rand = prng(seed * 7919 + SCENE_KINDS.indexOf(kind));
  const img = canvas(w, h);
  const s = Math.sqrt(w * h) / 512;
  switch (kind) {
    case "landscape": {
      const ridge = fbm(w, 1, rand, 200 * s, 6);
      const ground = fbm(w, h, rand, 60 * s, 7, 0.6);
      const skyTop: Rgb = [40 + rand() * 60, 90 + rand() * 60, 180 + rand() * 60];
      const skyLow: Rgb = [200, 215, 235];
      const grass = randColour(rand).map((v) => v * 0.5) as Rgb;
      const sunX = rand() * w;
      const sunY = h * 0.2;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const horizon = h * (0.45 + 0.15 * ridge[x]!);
          if (y < horizon) {
            let c = mix(skyTop, skyLow, y / horizon);
            if (Math.hypot(x - sunX, y - sunY) < 30 * s) c = [255, 245, 200];
            put(img, x, y, c);
          } else {
            const g = ground[y * w + x]!;
            const depth = (y - horizon) / (h - horizon + 1);
            put(
              img,
              x,
              y,
              mix(
                grass,
                [grass[0] + 90, grass[1] + 80, grass[2] + 40],
                0.5 + 0.5 * g * (0.4 + depth),
              ),
            );
          }
        }
      }
      break;
    }
    case "studio": {
      const back: Rgb = [200 + rand() * 40, 200 + rand() * 40, 200 + rand() * 40];
      const fabric = fbm(w, h, rand, 8 * s, 3, 0.7);
      const objects = Array.from({ length: 3 }, () => ({
        x: w * (0.2 + 0.6 * rand()),
        y: h * (0.35 + 0.4 * rand()),
        r: Math.min(w, h) * (0.08 + 0.12 * rand()),
        c: randColour(rand),
        textured: rand() < 0.5,
      }));
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const vig = 1 - 0.15 * (((x - w / 2) / w) ** 2 + ((y - h / 2) / h) ** 2);
          let c: Rgb = [back[0] * vig, back[1] * vig, back[2] * vig];
          for (const o of objects) {
            const d = Math.hypot(x - o.x, y - o.y) / o.r;
            if (d < 1) {
              const shade = 0.45 + 0.55 * Math.sqrt(1 - d * d) * (1 - 0.3 * ((x - o.x) / o.r));
              c = [o.c[0] * shade, o.c[1] * shade, o.c[2] * shade];
              if (o.textured)
                c = mix(c, [c[0] * 1.4, c[1] * 1.4, c[2] * 1.4], 0.5 + 0.5 * fabric[y * w + x]!);
            }
          }
          put(img, x, y, c);
        }
      }
      break;
    }
    case "illustration": {
      const bg = randColour(rand);
      const shapes = Array.from({ length: 14 }, () => ({
        x: rand() * w,
        y: rand() * h,
        r: Math.min(w, h) * (0.04 + 0.18 * rand()),
        k: rand() < 0.5 ? 2 : 1,
        c: randColour(rand),
      }));
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let c = bg;
          for (const o of shapes) {
            const dx = Math.abs(x - o.x);
            const dy = Math.abs(y - o.y);
            const d = o.k === 1 ? Math.hypot(dx, dy) : Math.max(dx, dy);
            if (d < o.r) c = d > o.r - 3 * s ? [20, 20, 30] : o.c;
          }
          put(img, x, y, c);
        }
      }
      break;
    }
    case "city": {
      const grain = fbm(w, h, rand, 4 * s, 2, 0.5);
      const sky = mix([250, 160, 90], [60, 80, 150], rand());
      const buildings = Array.from({ length: 12 }, () => ({
        x0: rand() * w,
        bw: w * (0.06 + 0.12 * rand()),
        top: h * (0.15 + 0.5 * rand()),
        c: mix([60, 60, 70], [180, 170, 160], rand()),
      }));
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let c = mix(sky, [sky[0] * 0.6, sky[1] * 0.6, sky[2] * 0.7], y / h);
          for (const b of buildings) {
            if (x >= b.x0 && x < b.x0 + b.bw && y > b.top) {
              const wx = ((x - b.x0) / (10 * s)) % 2;
              const wy = ((y - b.top) / (14 * s)) % 2;
              c = wx > 1.2 && wy > 1.1 ? [230, 210, 140] : b.c;
            }
          }
          const g = 12 * grain[y * w + x]!;
          put(img, x, y, [c[0] + g, c[1] + g, c[2] + g]);
        }
      }
      break;
    }
    case "foliage": {
      const a = fbm(w, h, rand, 24 * s, 6, 0.7);
      const b = fbm(w, h, rand, 6 * s, 3, 0.6);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const t = 0.5 + 0.5 * a[y * w + x]!;
          const leaf = b[y * w + x]! > 0 ? 1 : 0.55;
          put(img, x, y, [40 * t * leaf + 20, 150 * t * leaf + 30, 50 * t * leaf + 10]);
        }
      }
      break;
    }
    case "portrait": {
      const hair = fbm(w, h, rand, 3 * s, 2, 0.5);
      const skin = mix([235, 190, 160], [120, 80, 60], rand());
      const back = mix([90, 110, 130], [200, 190, 170], rand());
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const fx = (x - w / 2) / (w * 0.22);
          const fy = (y - h * 0.55) / (h * 0.32);
          const d = Math.hypot(fx, fy);
          let c = mix(back, [back[0] * 0.7, back[1] * 0.7, back[2] * 0.7], y / h);
          if (d < 1) {
            const shade = 0.7 + 0.3 * Math.sqrt(1 - d * d);
            c = [skin[0] * shade, skin[1] * shade, skin[2] * shade];
          }
          if (fy < -0.4 && Math.hypot(fx, fy + 0.2) < 1.2) {
            const strand = 0.5 + 0.5 * Math.sin((x * 0.9) / s + 6 * hair[y * w + x]!);
            c = [50 * strand + 20, 35 * strand + 15, 25 * strand + 10];
          }
          put(img, x, y, c);
        }
      }
      break;
    }
    case "marble": {
      const n = fbm(w, h, rand, 120 * s, 7, 0.55);
      const base = randColour(rand);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = 0.5 + 0.5 * Math.sin((x + y) / (25 * s) + 5 * n[y * w + x]!);
          put(img, x, y, mix(base, [245, 245, 240], v));
        }
      }
      break;
    }
    case "night": {
      const n = fbm(w, h, rand, 40 * s, 5, 0.6);
      const lights = Array.from({ length: 25 }, () => ({
        x: rand() * w,
        y: rand() * h,
        r: (3 + 12 * rand()) * s,
      }));
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let v = 18 + 14 * n[y * w + x]!;
          for (const l of lights)
            v += 220 * Math.exp(-((x - l.x) ** 2 + (y - l.y) ** 2) / (l.r * l.r));
          put(img, x, y, [v * 1.1, v * 0.9, v * 0.7]);
        }
      }
      break;
    }
  }
  return img;
}
