import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { codedLength, convEncode, viterbiDecode } from "./conv-code.js";
import { prng } from "./eval/scenes.js";

describe("convolutional code", () => {
  it("has rate 1/3 with a six-bit tail", () => {
    expect(codedLength(88)).toBe(282);
    expect(convEncode(new Uint8Array(88)).length).toBe(282);
  });

  it("decodes clean soft symbols exactly", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 88, maxLength: 88 }), (raw) => {
        const bits = raw.map((b) => b & 1);
        const coded = convEncode(bits);
        expect(viterbiDecode(Float64Array.from(coded), 88)).toEqual(bits);
      }),
      { numRuns: 30 },
    );
  });

  it("corrects heavy Gaussian noise (raw symbol error rate about 16%)", () => {
    const rand = prng(42);
    const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
    let exact = 0;
    let rawErrors = 0;
    for (let trial = 0; trial < 40; trial++) {
      const bits = Uint8Array.from({ length: 88 }, () => (rand() < 0.5 ? 1 : 0));
      const coded = convEncode(bits);
      const soft = Float64Array.from(coded, (s) => s + gauss());
      rawErrors += soft.filter((v, i) => Math.sign(v) !== coded[i]).length;
      if (viterbiDecode(soft, 88).every((b, i) => b === bits[i])) exact++;
    }
    expect(rawErrors / (40 * 282)).toBeGreaterThan(0.1);
    expect(exact).toBeGreaterThanOrEqual(38);
  });
});
