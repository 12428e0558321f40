/**
 * The 20 deterministic images the ONNX conversions are checked on: Meta's PDQ test photos
 * (src/provenance/fingerprint/fixtures), edits of them, and synthetic scenes (gradients, noise,
 * shapes, rendered text), each as a 224×224 NHWC float32 RGB tensor in [0, 1].
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import sharp, { type Sharp } from "sharp";

const FIXTURES = join(
  import.meta.dirname,
  "..",
  "..",
  "src",
  "provenance",
  "fingerprint",
  "fixtures",
);

export interface ParityImage {
  name: string;
  /** 224·224·3 floats, NHWC. */
  tensor: Float32Array;
}

async function toTensor(input: Sharp, size: number): Promise<Float32Array> {
  const { data, info } = await input
    .removeAlpha()
    .resize(size, size, { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const out = new Float32Array(size * size * 3);
  for (let p = 0; p < size * size; p++) {
    for (let c = 0; c < 3; c++)
      out[p * 3 + c] = data[p * info.channels + (info.channels >= 3 ? c : 0)]! / 255;
  }
  return out;
}

function synthetic(kind: number, w = 256, h = 256): Sharp {
  const px = Buffer.alloc(w * h * 3);
  let seed = 12345 + kind * 977;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      const v =
        kind === 0
          ? [x, y, 128]
          : kind === 1
            ? [rand() * 255, rand() * 255, rand() * 255]
            : kind === 2
              ? [(x >> 4) % 2 ? 230 : 20, (y >> 4) % 2 ? 200 : 40, 90]
              : [220 - y / 2, 170 - y / 3, 140 - y / 4];
      px[o] = v[0]!;
      px[o + 1] = v[1]!;
      px[o + 2] = v[2]!;
    }
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } });
}

const TEXT_SVG = (text: string, bg: string) =>
  Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240"><rect width="100%" height="100%" fill="${bg}"/><text x="20" y="130" font-size="44" font-family="sans-serif" fill="#222">${text}</text></svg>`,
  );

export async function parityImages(size = 224): Promise<ParityImage[]> {
  const out: ParityImage[] = [];
  const files = readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".jpg"))
    .sort();
  for (const f of files) {
    out.push({ name: f, tensor: await toTensor(sharp(readFileSync(join(FIXTURES, f))), size) });
  }
  const bridge = readFileSync(join(FIXTURES, "bridge-1-original.jpg"));
  const edits: Array<[string, Sharp]> = [
    ["bridge-grey", sharp(bridge).greyscale()],
    ["bridge-crop", sharp(bridge).extract({ left: 400, top: 200, width: 600, height: 600 })],
    ["bridge-dark", sharp(bridge).linear(0.4, 0)],
    ["bridge-tint", sharp(bridge).tint({ r: 255, g: 160, b: 120 })],
    ["bridge-blur", sharp(bridge).blur(6)],
  ];
  for (const [name, s] of edits) out.push({ name, tensor: await toTensor(s, size) });
  for (let k = 0; k < 4; k++)
    out.push({ name: `synthetic-${k}`, tensor: await toTensor(synthetic(k), size) });
  out.push({
    name: "text-stock",
    tensor: await toTensor(sharp(TEXT_SVG("Shutterstock", "#eee")), size),
  });
  out.push({
    name: "text-brand",
    tensor: await toTensor(sharp(TEXT_SVG("Getty Images", "#cde")), size),
  });
  return out.slice(0, 20);
}
