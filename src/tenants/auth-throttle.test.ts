import { describe, expect, it } from "vitest";
import { createAuthThrottle } from "./auth-throttle.js";

describe("createAuthThrottle", () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it("lets an address fail `failures` times, then refuses it until one try has refilled", () => {
    const c = clock();
    const throttle = createAuthThrottle({ failures: 3, windowMs: 60_000, now: c.now });
    for (let i = 0; i < 3; i++) {
      expect(throttle.retryAfterMs("a")).toBe(0);
      throttle.failed("a");
    }
    // One try refills every 60 000 / 3 ms.
    expect(throttle.retryAfterMs("a")).toBe(20_000);
    c.advance(19_000);
    expect(throttle.retryAfterMs("a")).toBe(1_000);
    c.advance(1_000);
    expect(throttle.retryAfterMs("a")).toBe(0);
    throttle.failed("a");
    expect(throttle.retryAfterMs("a")).toBe(20_000);
    // A full window refills the whole bucket, and never more than it.
    c.advance(600_000);
    for (let i = 0; i < 3; i++) throttle.failed("a");
    expect(throttle.retryAfterMs("a")).toBeGreaterThan(0);
  });

  it("counts each address apart", () => {
    const c = clock();
    const throttle = createAuthThrottle({ failures: 2, windowMs: 60_000, now: c.now });
    throttle.failed("a");
    throttle.failed("a");
    expect(throttle.retryAfterMs("a")).toBeGreaterThan(0);
    expect(throttle.retryAfterMs("b")).toBe(0);
  });

  it("forgets the address untouched longest when it holds too many", () => {
    const c = clock();
    const throttle = createAuthThrottle({
      failures: 1,
      windowMs: 60_000,
      maxAddresses: 2,
      now: c.now,
    });
    throttle.failed("a");
    throttle.failed("b");
    throttle.failed("a"); // touched again: b is now the oldest
    throttle.failed("c");
    expect(throttle.retryAfterMs("a")).toBeGreaterThan(0);
    expect(throttle.retryAfterMs("b")).toBe(0);
    expect(throttle.retryAfterMs("c")).toBeGreaterThan(0);
  });
});
