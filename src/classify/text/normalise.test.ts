import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfusableFold } from "./confusables.js";
import { loadEmoji } from "./lexicon-load.js";
import { createNormaliser, type Normaliser, toOriginalRange } from "./normalise.js";

let normalise: Normaliser;
beforeAll(() => {
  normalise = createNormaliser({
    confusables: loadConfusableFold(),
    emoji: loadEmoji(new URL("../../../policies/lexicons", import.meta.url).pathname),
  });
});

const text = (s: string) => normalise(s).text;

describe("normalise", () => {
  it.each([
    ["N.U.D.E ph0t0", "nude photo"],
    ["n-u-d-e", "nude"],
    ["n u d e", "nude"],
    ["n * u * d * e", "nude"],
    ["a n.u.d.e woman", "a nude woman"],
    ["nаked wоman", "naked woman"], // Cyrillic а and о
    ["ｎｕｄｅ", "nude"], // full-width (NFKC)
    ["𝐧𝐮𝐝𝐞 𝓷𝓾𝓭𝓮", "nude nude"], // mathematical alphanumerics
    ["🅽🆄🅳🅴 🇳🇺🇩🇪", "nude nude"],
    ["Ⓝⓤⓓⓔ", "nude"],
    ["n\u200bu\u200dd\u00ade", "nude"], // zero-width and soft hyphen
    ["\u202enude\u202c", "nude"], // bidi override
    ["n̸̛u̷d̶e̴", "nude"], // zalgo
    ["nüdé", "nude"],
    ["nuuuuude kiiiill", "nude kill"],
    ["pr0n s3x @ss a$$ k1ll!!!", "pron sex ass ass kill!!!"],
    ["🔫 and 🍆️", "gun and penis"],
    ["Schießerei", "schiesserei"],
    ["ﾇｰﾄﾞ", "ヌード"], // half-width katakana with voicing mark
    ["裸 体 写真", "裸体写真"],
    ["ГОЛАЯ женщина", "голая женщина"], // Cyrillic words stay Cyrillic
  ])("%j → %j", (input, expected) => {
    expect(text(input)).toBe(expected);
  });

  it.each(["shot on 35mm", "4k, 8k, 1080p", "1girl, solo", "f/1.8 at iso 400"])(
    "leaves measurements alone: %j",
    (input) => {
      expect(text(input)).toBe(input);
    },
  );

  it("defines bad input: empty, controls, lone surrogates", () => {
    expect(normalise("")).toEqual({
      text: "",
      starts: new Uint32Array(),
      ends: new Uint32Array(),
      repeats: new Uint8Array(),
    });
    expect(text("\u200b\u200c\ufeff")).toBe("");
    expect(text("a\u0000b\u0007c")).toBe("abc");
    expect(text("nu\ud800de")).toBe("nude");
    expect(text("line one\nline\ttwo")).toBe("line one line two");
  });

  it("says how long a run of one letter was where it was squeezed", () => {
    const n = normalise("a nooooose");
    expect(n.text).toBe("a nose");
    expect([...n.repeats!]).toEqual([1, 1, 1, 5, 1, 1]);
    expect([...normalise("kiiilll").repeats!]).toEqual([1, 3, 3, 3]);
  });

  it("maps every normalised unit back to the original", () => {
    const input = "a 𝐧.u\u200b.d.e ph0t0";
    const n = normalise(input);
    const at = n.text.indexOf("nude");
    const [s, e] = toOriginalRange(n, at, at + 4);
    expect(input.slice(s, e)).toBe("𝐧.u\u200b.d.e");
    const p = n.text.indexOf("photo");
    expect(input.slice(...toOriginalRange(n, p, p + 5))).toBe("ph0t0");
  });

  it("is total, bounded and idempotent on the result for any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (input) => {
        const n = normalise(input);
        expect(n.starts.length).toBe(n.text.length);
        for (let i = 0; i < n.text.length; i++) {
          expect(n.starts[i]!).toBeLessThan(n.ends[i]!);
          expect(n.ends[i]!).toBeLessThanOrEqual(input.length);
        }
        expect(n.text.length).toBeLessThanOrEqual(input.length * 4 + 16);
      }),
      { numRuns: 300 },
    );
  });
});
