import { describe, expect, it } from "vitest";
import { createGaussian } from "./random.js";

describe("seeded Gaussian", () => {
  it("repeats for a seed and differs across seeds", () => {
    const a = createGaussian(1).fill(new Float32Array(64));
    const b = createGaussian(1).fill(new Float32Array(64));
    const c = createGaussian(2).fill(new Float32Array(64));
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it("is standard normal: mean 0, variance 1, symmetric tails", () => {
    const g = createGaussian(123456789);
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    let beyond2 = 0;
    let infinite = 0;
    for (let i = 0; i < n; i++) {
      const v = g.next();
      if (!Number.isFinite(v)) infinite++;
      sum += v;
      sq += v * v;
      if (Math.abs(v) > 2) beyond2++;
    }
    expect(infinite).toBe(0);
    const mean = sum / n;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(sq / n - mean * mean - 1)).toBeLessThan(0.015);
    // P(|Z| > 2) = 4.55%
    expect(Math.abs(beyond2 / n - 0.0455)).toBeLessThan(0.003);
  });
});
