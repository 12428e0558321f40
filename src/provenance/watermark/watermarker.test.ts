import { describe, expect, it } from "vitest";
import { ATTACKS } from "./eval/attacks.js";
import { makeScene, type SceneKind } from "./eval/scenes.js";
import { WatermarkKey } from "./key.js";
import type { RawImage } from "./types.js";
import { createWatermarker } from "./watermarker.js";

const key = new WatermarkKey(new Uint8Array(32).fill(11));
const wm = createWatermarker({ key });
const payload = { issuerKeyId: 0x0a0b, markId: "0123456789ab" };
const hex = "0a0b0123456789ab";

function mark(image: RawImage): RawImage {
  const result = wm.embed(image, payload);
  if (!result.applied) throw new Error("not applied");
  expect(result.psnr).toBeGreaterThanOrEqual(40);
  return result.image;
}

describe("embed and detect round trip", () => {
  const cases: Array<[SceneKind, number, number]> = [
    ["landscape", 1024, 576],
    ["portrait", 512, 512],
    ["illustration", 768, 768],
    ["night", 640, 480],
    ["city", 600, 900],
  ];
  it.each(cases)("%s %ix%i", (kind, w, h) => {
    const marked = mark(makeScene(kind, w, h, 5));
    const found = wm.detect(marked);
    expect(found.detected).toBe(true);
    expect(found.payloadHex).toBe(hex);
    expect(found.payload).toEqual(payload);
    expect(found.confidence).toBeGreaterThan(0.999);
    expect(found.transform?.flipped).toBe(false);
    expect(Math.abs(found.transform!.rotationDeg)).toBeLessThan(0.5);
    expect(found.transform!.scale).toBeCloseTo(1, 1);
  });

  it("is blind to the key: another key finds nothing", () => {
    const marked = mark(makeScene("foliage", 512, 512, 2));
    const other = createWatermarker({ key: new WatermarkKey(new Uint8Array(32).fill(12)) });
    expect(other.detect(marked)).toMatchObject({ detected: false });
  });
});

describe("robustness: every attack family of the issue, made with sharp", () => {
  const marked = mark(makeScene("landscape", 896, 640, 9));
  it.each(ATTACKS.map((a) => [a.name, a] as const))("%s", async (_name, attack) => {
    const attacked = await attack.apply(marked, 3);
    const found = wm.detect(attacked);
    expect(found.detected).toBe(true);
    expect(found.payloadHex).toBe(hex);
  });
});

describe("reported transform", () => {
  const marked = mark(makeScene("foliage", 1200, 1200, 4));
  const byName = (name: string) => ATTACKS.find((a) => a.name === name)!;

  it("measures a rotation in degrees, clockwise as sharp rotates", async () => {
    const found = wm.detect(await byName("rotate -5°").apply(marked, 1));
    expect(found.transform!.rotationDeg).toBeCloseTo(-5, 0);
    expect(found.transform!.flipped).toBe(false);
  });

  it("reports a mirror image as flipped", async () => {
    const found = wm.detect(await byName("flip horizontal").apply(marked, 1));
    expect(found.payloadHex).toBe(hex);
    expect(found.transform!.flipped).toBe(true);
  });

  it("sees a crop to half the area as cells 1.41 times larger", async () => {
    const found = wm.detect(await byName("crop 50% area").apply(marked, 1));
    expect(found.transform!.scale).toBeGreaterThan(1.3);
    expect(found.transform!.scale).toBeLessThan(1.55);
  });
});
