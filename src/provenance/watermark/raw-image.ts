import { HallmarkError } from "../../errors/index.js";
import type { RawImage } from "./types.js";

/** Throws `invalid_image` unless the buffer holds exactly width·height·channels bytes. */
export function assertRawImage(image: RawImage): void {
  const { width, height, channels, data } = image;
  const ok =
    Number.isInteger(width) &&
    Number.isInteger(height) &&
    width > 0 &&
    height > 0 &&
    [1, 2, 3, 4].includes(channels) &&
    data instanceof Uint8Array &&
    data.length === width * height * channels;
  if (!ok) {
    throw new HallmarkError("invalid_image", "raw image buffer does not match its dimensions");
  }
}
