/** Test inputs built with sharp (real encoders) and by hand (a PNG header claiming a huge size). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import sharp from "sharp";

export const FIXTURES = join(
  import.meta.dirname,
  "..",
  "..",
  "provenance",
  "fingerprint",
  "fixtures",
);
export const bridgeJpeg = () => readFileSync(join(FIXTURES, "bridge-1-original.jpg"));

function chunk(type: string, body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const typed = Buffer.concat([Buffer.from(type, "ascii"), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([len, typed, crc]);
}

/** A tiny PNG whose header claims width×height pixels (a decompression-bomb shape). */
export function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

export async function animatedGif(): Promise<Buffer> {
  const frame = (v: number) =>
    sharp({ create: { width: 32, height: 32, channels: 3, background: { r: v, g: 0, b: 0 } } })
      .png()
      .toBuffer();
  return sharp([await frame(0), await frame(255)], { join: { animated: true } })
    .gif()
    .toBuffer();
}
