import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decide, intervalMs, step } from "./gcra.js";
import { periodsAt } from "./periods.js";

describe("GCRA", () => {
  it("admits exactly `burst` requests at one instant, then one per interval", () => {
    const rule = { rps: 2, burst: 3 };
    let tat: number | null = null;
    const now = 1_700_000_000_000;
    const verdicts: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const s = step(tat, now, rule);
      verdicts.push(s.allowed);
      tat = s.tatMs;
    }
    expect(verdicts).toEqual([true, true, true, false, false]);
    const refused = decide(step(tat, now, rule), rule);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    // Half a second later (one interval) exactly one more passes.
    expect(step(tat, now + 500, rule).allowed).toBe(true);
    expect(step(tat, now + 499, rule).allowed).toBe(false);
  });

  it("reports remaining and reset as a client would count them", () => {
    const rule = { rps: 10, burst: 5 };
    const now = 1_700_000_000_000;
    const first = step(null, now, rule);
    expect(decide(first, rule)).toMatchObject({ allowed: true, remaining: 4, resetSeconds: 1 });
  });

  it("never admits more than burst + elapsed × rps, for any arrival pattern", () => {
    fc.assert(
      fc.property(
        fc.record({
          rps: fc.double({ min: 0.1, max: 500, noNaN: true }),
          burst: fc.integer({ min: 1, max: 50 }),
        }),
        fc.array(fc.double({ min: 0, max: 2000, noNaN: true }), { minLength: 1, maxLength: 200 }),
        (rule, gaps) => {
          let now = 1_764_000_000_000;
          const start = now;
          let tat: number | null = null;
          let admitted = 0;
          for (const gap of gaps) {
            now += gap;
            const s = step(tat, now, rule);
            tat = s.tatMs;
            if (s.allowed) admitted++;
          }
          expect(admitted).toBeLessThanOrEqual(
            rule.burst + (now - start) / intervalMs(rule) + 1e-6,
          );
        },
      ),
    );
  });

  it("fractional intervals do not cut an exact burst short", () => {
    const rule = { rps: 3, burst: 7 };
    let tat: number | null = null;
    const now = 1_764_232_123_456.789;
    let admitted = 0;
    for (let i = 0; i < 7; i++) {
      const s = step(tat, now, rule);
      tat = s.tatMs;
      if (s.allowed) admitted++;
    }
    expect(admitted).toBe(7);
  });
});

describe("quota periods", () => {
  it("are the UTC day and month, resetting at midnight and on the 1st", () => {
    const p = periodsAt(Date.parse("2026-02-28T23:59:30Z"));
    expect(p).toMatchObject({ day: "2026-02-28", month: "2026-02-01", dayResetSeconds: 30 });
    expect(p.monthResetSeconds).toBe(30);
    expect(periodsAt(Date.parse("2026-03-01T00:00:00Z"))).toMatchObject({
      day: "2026-03-01",
      month: "2026-03-01",
      dayResetSeconds: 86_400,
    });
  });
});
