import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { toRaw, toSharp } from "./eval/attacks.js";
import { makeScene, prng, SCENE_KINDS } from "./eval/scenes.js";
import { WatermarkKey } from "./key.js";
import type { RawImage } from "./types.js";
import { createWatermarker } from "./watermarker.js";

/** The failure modes imwatermark's users report (issue 11, item 9), each ruled out here. */
const wm = createWatermarker({ key: new WatermarkKey(new Uint8Array(32).fill(21)) });

function marked(image: RawImage, markId: string, issuerKeyId = 7): RawImage {
  const result = wm.embed(image, { issuerKeyId, markId });
  if (!result.applied) throw new Error("not applied");
  return result.image;
}

function noise(w: number, h: number, seed: number): RawImage {
  const rand = prng(seed);
  return {
    width: w,
    height: h,
    channels: 3,
    data: Uint8Array.from({ length: w * h * 3 }, () => rand() * 256),
  };
}

function flat(w: number, h: number, rgb: [number, number, number]): RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { width: w, height: h, channels: 3, data };
}

describe("no garbage on unmarked images", () => {
  it("reports no mark on unmarked scenes, their crops and resizes, noise and flat images", async () => {
    const images: RawImage[] = [
      noise(512, 512, 1),
      noise(300, 700, 2),
      flat(640, 480, [30, 120, 200]),
    ];
    let seed = 100;
    for (const kind of SCENE_KINDS) {
      for (const [w, h] of [
        [512, 512],
        [800, 600],
      ] as const) {
        const scene = makeScene(kind, w, h, seed++);
        images.push(scene);
        images.push(
          await toRaw(
            toSharp(scene).extract({ left: 37, top: 11, width: w - 140, height: h - 90 }),
          ),
        );
        images.push(await toRaw(toSharp(scene).resize(Math.round(w * 0.6))));
      }
    }
    for (const image of images) {
      const found = wm.detect(image);
      expect(found.detected).toBe(false);
      expect(found.payload).toBeUndefined();
      expect(found.payloadHex).toBeUndefined();
      expect(found.confidence).toBeGreaterThanOrEqual(0);
      expect(found.confidence).toBeLessThanOrEqual(1);
    }
  });
});

describe("JPEG with 4:2:0 chroma subsampling", () => {
  it("keeps the mark at quality 50 (the mark lives in luma only)", async () => {
    const image = marked(makeScene("portrait", 640, 640, 3), "aaaaaaaaaaaa");
    for (const quality of [50, 75]) {
      const jpeg = await toSharp(image).jpeg({ quality, chromaSubsampling: "4:2:0" }).toBuffer();
      expect((await sharp(jpeg).metadata()).chromaSubsampling).toBe("4:2:0");
      const found = wm.detect(await toRaw(sharp(jpeg)));
      expect(found.payloadHex).toBe("0007aaaaaaaaaaaa");
    }
  });
});

describe("embedding twice", () => {
  it("reports one of the two payloads (or both), never a mixture", () => {
    const pairs = [
      ["111111111111", "222222222222"],
      ["0123456789ab", "0123456789ac"],
      ["ffffffffffff", "000000000000"],
    ] as const;
    for (const [a, b] of pairs) {
      const twice = marked(marked(makeScene("landscape", 768, 512, 8), a), b);
      const found = wm.detect(twice);
      const valid = [`0007${a}`, `0007${b}`];
      expect(found.detected).toBe(true);
      expect(valid).toContain(found.payloadHex);
      for (const other of found.others ?? []) expect(valid).toContain(other.payloadHex);
    }
  });
});

describe("no visible pattern in flat or saturated areas", () => {
  it("leaves flat areas untouched and changes R, G and B alike (no tint)", () => {
    // Left half: flat saturated fills; right half: texture.
    const w = 512;
    const h = 512;
    const texture = makeScene("foliage", w, h, 2);
    const image: RawImage = {
      width: w,
      height: h,
      channels: 3,
      data: new Uint8Array(texture.data),
    };
    const fills: Array<[number, number, number]> = [
      [255, 0, 0],
      [0, 0, 255],
      [128, 128, 128],
      [250, 250, 250],
    ];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w / 2; x++)
        image.data.set(fills[Math.floor((y / h) * 4)]!, (y * w + x) * 3);
    }
    const out = marked(image, "abcabcabcabc");
    let changedFlat = 0;
    let changedTexture = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * 3;
        const d = [0, 1, 2].map((c) => out.data[p + c]! - image.data[p + c]!);
        expect(d[0] === d[1] && d[1] === d[2]).toBe(true);
        // Flat: the left half away (8 px) from the texture and from the fills' boundaries.
        const nearBoundary = Math.abs((y / h) * 4 - Math.round((y / h) * 4)) * (h / 4) < 8;
        if (x < w / 2 - 8 && !nearBoundary && d[0] !== 0) changedFlat++;
        if (x >= w / 2 && d[0] !== 0) changedTexture++;
      }
    }
    expect(changedFlat).toBe(0);
    expect(changedTexture).toBeGreaterThan((w * h) / 8);
  });
});
