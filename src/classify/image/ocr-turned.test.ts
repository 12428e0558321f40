import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { turnBack } from "./ocr-turned.js";

/** The centroid of the dark pixels of a grey image. */
function darkCentroid(data: Buffer, width: number): { x: number; y: number } {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i]! < 100) {
      sx += (i % width) + 0.5;
      sy += Math.floor(i / width) + 0.5;
      n++;
    }
  }
  return { x: sx / n, y: sy / n };
}

describe("turnBack", () => {
  it.each([30, -30, 45, 90])(
    "maps a point found on a copy turned %i° by sharp back to where it is",
    async (degrees) => {
      const source = { width: 400, height: 260 };
      const dot = { x: 310, y: 60 };
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${source.width}" height="${source.height}"><rect width="100%" height="100%" fill="#fff"/><circle cx="${dot.x}" cy="${dot.y}" r="6" fill="#000"/></svg>`;
      const { data, info } = await sharp(Buffer.from(svg))
        .greyscale()
        .rotate(degrees, { background: "#ffffff" })
        .raw()
        .toBuffer({ resolveWithObject: true });
      const found = darkCentroid(data, info.width);
      const back = turnBack(
        degrees,
        info,
        source,
      )({
        cx: found.x,
        cy: found.y,
        width: 20,
        height: 10,
        angle: 0,
      });
      expect(back.cx).toBeCloseTo(dot.x, -0.3); // within about a pixel
      expect(back.cy).toBeCloseTo(dot.y, -0.3);
    },
  );

  it("turns a level box on the turned copy back to the text's own slope", () => {
    // Text rising at 30° (screen angle -30°) is level on a copy turned 30° clockwise.
    const back = turnBack(
      30,
      { width: 1400, height: 1400 },
      { width: 1024, height: 1024 },
    )({
      cx: 700,
      cy: 700,
      width: 300,
      height: 60,
      angle: 0,
    });
    expect(back.cx).toBeCloseTo(512);
    expect(back.cy).toBeCloseTo(512);
    expect((back.angle * 180) / Math.PI).toBeCloseTo(-30);
    expect(back.width).toBe(300);
  });
});
