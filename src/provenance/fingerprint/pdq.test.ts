import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { HallmarkError } from "../../errors/index.js";
import { pdqDistance } from "./hamming.js";
import { pdqHash } from "./pdq.js";
import type { RawImage } from "./types.js";

const FIXTURES = join(import.meta.dirname, "fixtures");

/**
 * Published PDQ hashes of images in Meta's pdq/data folder (ThreatExchange: the Java and Rust
 * ports' tests and python-threatexchange's PdqSignal examples, which agree with the C++ tool).
 */
const REFERENCE: Record<string, string> = {
  "bridge-1-original.jpg": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
  "bridge-2-rotate-90.jpg": "30a10efd71cc3d429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af",
  "bridge-7-flip-plus-1.jpg": "f0a5e102f1ccc0bd945308720fff038de34ef1e8ada9a956d2967ade5ea91a50",
  "blur-a-lot.jpg": "f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22",
  "wee.jpg": "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d",
  "q2821.jpg": "b150231ffae4710ffcf4f18bb574b109a576f14bb8543189f8743289f174b109",
  "small.jpg": "0007001f003f003f007f00ff00ff00ff01ff01ff01ff03ff03ff03ff03ff03ff",
};

async function raw(file: string): Promise<RawImage> {
  const { data, info } = await sharp(readFileSync(join(FIXTURES, file)))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

function popcountHex(hex: string): number {
  let n = 0;
  for (const c of hex) n += [...Number.parseInt(c, 16).toString(2)].filter((b) => b === "1").length;
  return n;
}

describe("pdqHash", () => {
  it.each(Object.entries(REFERENCE))("matches the reference hash of %s", async (file, expected) => {
    const { hash, quality } = pdqHash(await raw(file));
    // Meta's criterion for a correct port (pdq/README.md): within 10 bits where quality >= 80.
    // The float arithmetic here follows the reference, so with sharp's decoder they agree exactly.
    expect(pdqDistance(hash, expected)).toBeLessThanOrEqual(10);
    expect(hash).toBe(expected);
    if (file !== "small.jpg") expect(quality).toBeGreaterThanOrEqual(80);
  });

  it("sets exactly half the bits when the coefficients are distinct", async () => {
    expect(popcountHex(pdqHash(await raw("bridge-1-original.jpg")).hash)).toBe(128);
  });

  it("tells rotations and unrelated photos apart", async () => {
    const bridge = pdqHash(await raw("bridge-1-original.jpg")).hash;
    expect(pdqDistance(bridge, pdqHash(await raw("bridge-2-rotate-90.jpg")).hash)).toBeGreaterThan(
      90,
    );
    expect(pdqDistance(bridge, pdqHash(await raw("q2821.jpg")).hash)).toBeGreaterThan(90);
  });

  it("hashes a grey image the same as its RGB form", async () => {
    const rgb = await raw("wee.jpg");
    const grey = new Uint8Array(rgb.width * rgb.height);
    const asRgb = new Uint8Array(rgb.data.length);
    for (let p = 0; p < grey.length; p++) {
      grey[p] = rgb.data[p * 3]!;
      asRgb.fill(rgb.data[p * 3]!, p * 3, p * 3 + 3);
    }
    const a = pdqHash({ data: grey, width: rgb.width, height: rgb.height, channels: 1 });
    const b = pdqHash({ data: asRgb, width: rgb.width, height: rgb.height, channels: 3 });
    expect(pdqDistance(a.hash, b.hash)).toBeLessThanOrEqual(2);
  });

  it("ignores the alpha channel", async () => {
    const rgb = await raw("wee.jpg");
    const rgba = new Uint8Array(rgb.width * rgb.height * 4);
    for (let p = 0; p < rgb.width * rgb.height; p++) {
      rgba.set(rgb.data.subarray(p * 3, p * 3 + 3), p * 4);
      rgba[p * 4 + 3] = p % 7 === 0 ? 0 : 255;
    }
    expect(pdqHash({ ...rgb, data: rgba, channels: 4 }).hash).toBe(pdqHash(rgb).hash);
  });

  it("gives quality 0 for a featureless image and the zero hash below 5 pixels", () => {
    const flat = { data: new Uint8Array(100 * 80 * 3).fill(128), width: 100, height: 80 };
    expect(pdqHash({ ...flat, channels: 3 }).quality).toBe(0);
    const tiny = pdqHash({ data: new Uint8Array(4 * 50 * 3), width: 4, height: 50, channels: 3 });
    expect(tiny).toEqual({ hash: "0".repeat(64), quality: 0 });
  });

  it("hashes 64×64 input without resampling and extreme aspect ratios without error", () => {
    const data = new Uint8Array(64 * 64);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
    expect(pdqHash({ data, width: 64, height: 64, channels: 1 }).quality).toBeGreaterThan(50);
    const strip = new Uint8Array(20000 * 20);
    for (let i = 0; i < strip.length; i++) strip[i] = (i % 20000) & 255;
    expect(pdqHash({ data: strip, width: 20000, height: 20, channels: 1 }).hash).toMatch(
      /^[0-9a-f]{64}$/,
    );
  });

  it("refuses a buffer that does not match its dimensions", () => {
    const bad = () => pdqHash({ data: new Uint8Array(10), width: 4, height: 4, channels: 3 });
    expect(bad).toThrow(HallmarkError);
    expect(bad).toThrow(/does not match/);
  });
});
