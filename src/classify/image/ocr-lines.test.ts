import { describe, expect, it } from "vitest";
import type { TextLine } from "./ocr.js";
import { corners } from "./ocr-geometry.js";
import { joinedLineReadings } from "./ocr-lines.js";

/** A line read in a box of `width` × `height` centred at (cx, cy), turned `deg` degrees. */
function line(text: string, cx: number, cy: number, width: number, height = 40, deg = 0) {
  const angle = (deg * Math.PI) / 180;
  const quad = corners({ cx, cy, width, height, angle });
  const xs = quad.map((p) => p.x);
  const ys = quad.map((p) => p.y);
  return {
    text,
    confidence: 0.95,
    detection: 0.8,
    box: {
      x: Math.min(...xs),
      y: Math.min(...ys),
      width: Math.max(...xs) - Math.min(...xs),
      height: Math.max(...ys) - Math.min(...ys),
    },
    quad,
    angle: deg,
  } satisfies TextLine;
}

/** The point `d` pixels from (x, y) along direction `deg`. */
const along = (x: number, y: number, d: number, deg: number) => ({
  x: x + d * Math.cos((deg * Math.PI) / 180),
  y: y + d * Math.sin((deg * Math.PI) / 180),
});

describe("words the detector boxed apart", () => {
  it("joins boxes that continue one another on one baseline, in reading order", () => {
    // "Getty" 150 px wide, a 50 px gap, "Images" 180 px wide; given in any order.
    const getty = line("Getty", 300, 200, 150);
    const images = line(" Images ", 300 + 75 + 50 + 90, 200, 180);
    expect(joinedLineReadings([images, getty])).toEqual(["Getty Images"]);
  });

  it("joins them along a turned line, and chains three words", () => {
    const deg = -30;
    const b = along(300, 400, 75 + 40 + 60, deg);
    const c = along(b.x, b.y, 60 + 30 + 100, deg);
    const lines = [
      line("stock", b.x, b.y, 120, 40, deg),
      line("Adobe", 300, 400, 150, 40, deg),
      line("images", c.x, c.y, 200, 40, deg),
    ];
    expect(joinedLineReadings(lines)).toEqual(["Adobe stock images"]);
  });

  it("leaves apart lines stacked one above the other, far apart, of other sizes or directions", () => {
    const first = line("Getty", 300, 200, 150);
    for (const other of [
      line("Images", 300, 260, 180), // the next line down
      line("Images", 300 + 75 + 200 + 90, 200, 180), // a 200 px gap: 5 box heights
      line("Images", 300 + 75 + 50 + 90, 200, 180, 120), // three times as tall
      line("Images", 300 + 75 + 50 + 90, 200, 180, 40, 45), // another direction
      line("Images", 300 + 75 + 50 + 90, 200, 180, 40, 180), // upside down
      line("Images", 300 + 75 + 50 + 90, 235, 180), // offset across the line by most of a height
    ]) {
      expect(joinedLineReadings([first, other]), JSON.stringify(other.quad[0])).toEqual([]);
    }
    expect(joinedLineReadings([first])).toEqual([]);
    expect(joinedLineReadings([])).toEqual([]);
  });
});
