/**
 * Test support for the edits route: real images made with sharp, and multipart requests built
 * with the platform's FormData (what clients send).
 */
import sharp from "sharp";
import type { TestGateway } from "../../runtime/test-gateway.js";

/** A textured RGB picture (gradients and noise, so screening and the watermark have content). */
export async function photo(
  width: number,
  height: number,
  format: "png" | "jpeg" | "webp" = "png",
  seed = 1,
): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  let state = seed >>> 0 || 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      const noise = (state >>> 24) % 24;
      const o = (y * width + x) * 3;
      data[o] = ((x * 255) / width + noise) & 255;
      data[o + 1] = ((y * 255) / height + noise) & 255;
      data[o + 2] = (((x + y) * 127) / (width + height) + 60 + noise) & 255;
    }
  }
  const s = sharp(data, { raw: { width, height, channels: 3 } });
  return format === "png"
    ? s.png().toBuffer()
    : format === "jpeg"
      ? s.jpeg().toBuffer()
      : s.webp().toBuffer();
}

/** OpenAI's mask: RGBA PNG, opaque except a transparent rectangle (the area to edit). */
export async function maskPng(
  width: number,
  height: number,
  hole: { x: number; y: number; width: number; height: number },
): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 4, 255);
  for (let y = hole.y; y < hole.y + hole.height; y++) {
    for (let x = hole.x; x < hole.x + hole.width; x++) data[(y * width + x) * 4 + 3] = 0;
  }
  return sharp(data, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

export type Part = string | { bytes: Buffer; filename?: string; type?: string };

/** Posts a multipart form to /v1/images/edits (fields in order; arrays repeat the name). */
export function postEdit(
  gw: TestGateway,
  fields: Record<string, Part | Part[]>,
  init: { key?: string | null } = {},
): Promise<Response> {
  return postForm(gw, "/v1/images/edits", fields, init);
}

/** Posts a multipart form to `path` (fields in order; arrays repeat the name). */
export function postForm(
  gw: TestGateway,
  path: string,
  fields: Record<string, Part | Part[]>,
  init: { key?: string | null; headers?: Record<string, string> } = {},
): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    for (const part of Array.isArray(value) ? value : [value]) {
      if (typeof part === "string") form.append(name, part);
      else {
        form.append(
          name,
          new Blob([new Uint8Array(part.bytes)], { type: part.type ?? "image/png" }),
          part.filename ?? "image.png",
        );
      }
    }
  }
  return gw.request(path, { method: "POST", body: form, ...init });
}
