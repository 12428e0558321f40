import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HallmarkError, isHallmarkError } from "../../errors/index.js";
import { pdqDistance } from "./hamming.js";
import { matchHashLists, parseHashList } from "./hash-list.js";

const A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
/** A with its last 5 bits flipped (…22 → …dd has 6 flipped, so flip 0x1f of the last byte). */
const A5 = `${A.slice(0, 62)}${(0x22 ^ 0x1f).toString(16).padStart(2, "0")}`;
const Z = "0".repeat(64);

describe("pdqDistance", () => {
  it("counts differing bits", () => {
    expect(pdqDistance(A, A)).toBe(0);
    expect(pdqDistance(A, A5)).toBe(5);
    expect(pdqDistance(Z, "f".repeat(64))).toBe(256);
    expect(pdqDistance(A.toUpperCase(), A)).toBe(0);
  });

  it("is a metric on random hashes", () => {
    const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
    fc.assert(
      fc.property(hex, hex, hex, (a, b, c) => {
        expect(pdqDistance(a, b)).toBe(pdqDistance(b, a));
        expect(pdqDistance(a, c)).toBeLessThanOrEqual(pdqDistance(a, b) + pdqDistance(b, c));
      }),
      { numRuns: 200 },
    );
  });

  it("refuses malformed hashes", () => {
    expect(() => pdqDistance("abc", A)).toThrow(HallmarkError);
  });
});

describe("hash lists", () => {
  const csv = `hash,label\n# demo list\n${A},bridge, the original\n\n${Z.toUpperCase()}\r\n${A5},near\n`;

  it("parses header, comments, blank lines, CRLF and labels with commas", () => {
    const list = parseHashList("demo", csv);
    expect(list.hashes).toEqual([A, Z, A5]);
    expect(list.labels).toEqual(["bridge, the original", "", "near"]);
  });

  it("names the bad line", () => {
    try {
      parseHashList("demo", `${A},ok\nnot-a-hash,bad\n`);
      expect.unreachable();
    } catch (e) {
      expect(isHallmarkError(e) && e.code).toBe("config_error");
      expect((e as Error).message).toMatch(/line 2/);
    }
  });

  it("matches within the threshold inclusive, nearest first, across lists", () => {
    const one = parseHashList("one", csv);
    const two = parseHashList("two", `${A5},other\n`);
    expect(matchHashLists(A, [one, two], 5)).toEqual([
      { list: "one", label: "bridge, the original", hash: A, distance: 0 },
      { list: "one", label: "near", hash: A5, distance: 5 },
      { list: "two", label: "other", hash: A5, distance: 5 },
    ]);
    expect(matchHashLists(A, [one, two], 4)).toHaveLength(1);
    expect(matchHashLists(Z, [two], 31)).toEqual([]);
  });

  it("never throws anything but a config error on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        try {
          parseHashList("x", text);
        } catch (e) {
          expect(isHallmarkError(e) && e.code).toBe("config_error");
        }
      }),
      { numRuns: 300 },
    );
  });
});
