/**
 * Detection on a turned copy of the image. PP-OCRv4's detector finds horizontal text and text a
 * little off it, but loses steeply turned text: a tiled agency mark at 30° ("Getty Images",
 * 110 px, clearly legible) gives no box at all, while the same mark at 0° or 15° is found
 * (scripts/models/eval-ocr.ts, models/ocr/README.md). Agencies draw previews' marks diagonally,
 * so a pass over the image turned by the mark's angle, with its boxes turned back, finds them.
 */
import sharp from "sharp";
import type { RawImageInput } from "./decode.js";
import type { DetectedBox, TextDetector } from "./ocr-detect.js";
import { type RotatedRect, readingOrder } from "./ocr-geometry.js";

export interface TurnedPass {
  /** How far the image is turned, clockwise on screen, in degrees (30 levels text rising at 30°). */
  degrees: number;
  /** Long side the detector sees on the turned copy, in pixels. */
  side: number;
}

/** Boxes of a detection pass over `image` turned by `pass.degrees`, in `image`'s pixels. */
export async function detectTurned(
  detector: TextDetector,
  image: RawImageInput,
  pass: TurnedPass,
): Promise<DetectedBox[]> {
  // Shrink first, to the scale the detector will see the turned canvas at, then turn: turning
  // the full image and shrinking the larger canvas cost more than the detection itself.
  const t = (pass.degrees * Math.PI) / 180;
  const canvas = Math.max(
    image.width * Math.abs(Math.cos(t)) + image.height * Math.abs(Math.sin(t)),
    image.width * Math.abs(Math.sin(t)) + image.height * Math.abs(Math.cos(t)),
  );
  const scale = Math.min(1, pass.side / canvas);
  const small = {
    width: Math.max(1, Math.round(image.width * scale)),
    height: Math.max(1, Math.round(image.height * scale)),
  };
  const { data, info } = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  })
    .resize(small.width, small.height, { fit: "fill" })
    // White corners: the detector flattens transparency onto white as well.
    .rotate(pass.degrees, { background: { r: 255, g: 255, b: 255, alpha: 1 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const turned: RawImageInput = {
    data,
    width: info.width,
    height: info.height,
    channels: info.channels as 3 | 4,
  };
  const { boxes } = await detector.detect(turned, pass.side);
  const back = turnBack(pass.degrees, turned, small);
  const sx = image.width / small.width;
  const sy = image.height / small.height;
  return boxes.map((b) => {
    const r = back(b.rect);
    // Back to full size (the two scales differ only by rounding).
    return {
      ...b,
      rect: { ...r, cx: r.cx * sx, cy: r.cy * sy, width: r.width * sx, height: r.height * sy },
    };
  });
}

/**
 * Maps a rectangle found on the turned copy (`turned`, the source turned clockwise by `degrees`
 * about its centre onto a larger canvas) back to the source's pixels (pure; tested).
 */
export function turnBack(
  degrees: number,
  turned: { width: number; height: number },
  source: { width: number; height: number },
): (rect: RotatedRect) => RotatedRect {
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  return (rect) => {
    const dx = rect.cx - turned.width / 2;
    const dy = rect.cy - turned.height / 2;
    return readingOrder({
      ...rect,
      cx: source.width / 2 + dx * cos + dy * sin,
      cy: source.height / 2 - dx * sin + dy * cos,
      angle: rect.angle - t,
    });
  };
}
