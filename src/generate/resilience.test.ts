import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createAutomatic1111Generator } from "./automatic1111.js";
import { withCircuitBreaker } from "./circuit-breaker.js";
import { type FakeAutomatic1111, startFakeAutomatic1111 } from "./fake-automatic1111.js";
import { createLimiter } from "./limiter.js";
import { withRetries } from "./retry.js";

const input = { prompt: "a lighthouse", width: 64, height: 64, n: 1, seed: 7 };
const never = new AbortController().signal;
const noJitter = { baseDelayMs: 5, random: () => 0.5 };

/** A port that nothing listens on: bind, note the port, close. */
async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe("retries", () => {
  let fake: FakeAutomatic1111 | undefined;
  let extra: Server | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
    extra?.closeAllConnections();
    await new Promise<void>((r) => (extra ? extra.close(() => r()) : r()));
    extra = undefined;
  });

  it("retries a 503 from upstream and succeeds on a later attempt", async () => {
    fake = await startFakeAutomatic1111({ failWith: 503, failFirst: 2 });
    const g = withRetries(createAutomatic1111Generator({ url: fake.url, maxPixels: 1e6 }), {
      retries: 2,
      ...noJitter,
    });
    const out = await g.generate(input, never);
    expect(out.images).toHaveLength(1);
    expect(fake.requests).toHaveLength(3);
  });

  it("gives up after the configured retries", async () => {
    fake = await startFakeAutomatic1111({ failWith: 502 });
    const g = withRetries(createAutomatic1111Generator({ url: fake.url, maxPixels: 1e6 }), {
      retries: 2,
      ...noJitter,
    });
    await expect(g.generate(input, never)).rejects.toMatchObject({ code: "backend_unavailable" });
    expect(fake.requests).toHaveLength(3);
  });

  it("never retries a 500, a 4xx or a malformed answer", async () => {
    for (const options of [{ failWith: 500 }, { failWith: 422 }, { malformed: true }]) {
      fake = await startFakeAutomatic1111(options);
      const g = withRetries(createAutomatic1111Generator({ url: fake.url, maxPixels: 1e6 }), {
        retries: 3,
        ...noJitter,
      });
      await expect(g.generate(input, never)).rejects.toMatchObject({ code: "backend_error" });
      expect(fake.requests).toHaveLength(1);
      await fake.close();
      fake = undefined;
    }
  });

  it("retries a refused connection, reaching a server that comes up meanwhile", async () => {
    const url = await closedPort();
    const port = Number(new URL(url).port);
    let attempts = 0;
    const g = withRetries(createAutomatic1111Generator({ url, maxPixels: 1e6 }), {
      retries: 5,
      baseDelayMs: 20,
      random: () => {
        attempts++;
        // Start a real upstream on the refused port after the first refusal.
        if (attempts === 1) {
          extra = createServer((_req, res) => {
            res.writeHead(200, { "content-type": "application/json" }).end("{}");
          });
          extra.listen(port, "127.0.0.1");
        }
        return 1;
      },
    });
    // The late server answers with the wrong shape: proof the request reached it after retrying.
    await expect(g.generate(input, never)).rejects.toMatchObject({
      code: "backend_error",
      message: expect.stringContaining("unexpected response shape"),
    });
    expect(attempts).toBeGreaterThanOrEqual(1);
  });

  it("does not retry after a timeout and stops a backoff when the signal aborts", async () => {
    fake = await startFakeAutomatic1111({ latencyMs: 500 });
    const g = withRetries(createAutomatic1111Generator({ url: fake.url, maxPixels: 1e6 }), {
      retries: 3,
      ...noJitter,
    });
    await expect(g.generate(input, AbortSignal.timeout(50))).rejects.toMatchObject({
      name: "TimeoutError",
    });
    expect(fake.requests).toHaveLength(1);

    const refused = withRetries(
      createAutomatic1111Generator({ url: await closedPort(), maxPixels: 1e6 }),
      {
        retries: 3,
        baseDelayMs: 10_000,
        random: () => 1,
      },
    );
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(new Error("client gone")), 50);
    await expect(refused.generate(input, ac.signal)).rejects.toThrow("client gone");
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("circuit breaker", () => {
  let fake: FakeAutomatic1111 | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it("opens after N failures, fails fast with a retry hint, probes after the cool-down", async () => {
    fake = await startFakeAutomatic1111({ failWith: 500, failFirst: 3 });
    let clock = 0;
    const g = withCircuitBreaker(createAutomatic1111Generator({ url: fake.url, maxPixels: 1e6 }), {
      failures: 2,
      cooldownMs: 10_000,
      now: () => clock,
    });
    await expect(g.generate(input, never)).rejects.toMatchObject({ code: "backend_error" });
    expect(g.circuit).toBe("closed");
    await expect(g.generate(input, never)).rejects.toMatchObject({ code: "backend_error" });
    expect(g.circuit).toBe("open");
    clock = 4_000;
    await expect(g.generate(input, never)).rejects.toMatchObject({
      code: "backend_unavailable",
      details: { retryAfterSeconds: 6 },
    });
    expect(fake.requests).toHaveLength(2);
    // Half-open: the probe fails (third 500), so the circuit opens for another cool-down.
    clock = 10_000;
    expect(g.circuit).toBe("half-open");
    await expect(g.generate(input, never)).rejects.toMatchObject({ code: "backend_error" });
    expect(g.circuit).toBe("open");
    expect(fake.requests).toHaveLength(3);
    // Next probe succeeds: closed again.
    clock = 20_000;
    await expect(g.generate(input, never)).resolves.toMatchObject({ backend: "automatic1111" });
    expect(g.circuit).toBe("closed");
    expect(fake.requests).toHaveLength(4);
  });

  it("lets only one probe through while half-open and ignores client cancellations", async () => {
    fake = await startFakeAutomatic1111({ failWith: 500, failFirst: 1, latencyMs: 100 });
    let clock = 0;
    const g = withCircuitBreaker(createAutomatic1111Generator({ url: fake.url, maxPixels: 1e6 }), {
      failures: 1,
      cooldownMs: 1000,
      now: () => clock,
    });
    await expect(g.generate(input, never)).rejects.toMatchObject({ code: "backend_error" });
    clock = 1000;
    const probe = g.generate(input, never);
    await expect(g.generate(input, never)).rejects.toMatchObject({ code: "backend_unavailable" });
    await probe;
    expect(g.circuit).toBe("closed");
    // Client cancellations never open the circuit.
    for (let i = 0; i < 3; i++) {
      const ac = new AbortController();
      const p = g.generate(input, ac.signal);
      ac.abort(new Error("client gone"));
      await expect(p).rejects.toThrow("client gone");
    }
    expect(g.circuit).toBe("closed");
  });
});

describe("circuit breaker and timeouts", () => {
  it("counts a backend timeout as a failure", async () => {
    const fake = await startFakeAutomatic1111({ latencyMs: 1000 });
    try {
      const g = withCircuitBreaker(
        withRetries(createAutomatic1111Generator({ url: fake.url, maxPixels: 1e6 }), {
          retries: 2,
        }),
        { failures: 1, cooldownMs: 60_000 },
      );
      await expect(g.generate(input, AbortSignal.timeout(50))).rejects.toMatchObject({
        name: "TimeoutError",
      });
      expect(g.circuit).toBe("open");
      await expect(g.generate(input, never)).rejects.toMatchObject({
        code: "backend_unavailable",
        details: { retryAfterSeconds: 60 },
      });
      expect(fake.requests).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });
});

describe("composed: breaker, limiter, retries over a real upstream", () => {
  it("keeps the limiter's bounded queue (429 with a retry hint) and cancels queued waiters", async () => {
    const fake = await startFakeAutomatic1111({ latencyMs: 150 });
    try {
      const g = withCircuitBreaker(
        withRetries(createAutomatic1111Generator({ url: fake.url, maxPixels: 1e6 }), {
          retries: 2,
        }),
        { failures: 3, cooldownMs: 1000 },
      );
      const limiter = createLimiter({ concurrency: 1, queue: 1 });
      const first = limiter.run(never, () => g.generate(input, never));
      const ac = new AbortController();
      const second = limiter.run(ac.signal, () => g.generate(input, ac.signal));
      await expect(limiter.run(never, () => g.generate(input, never))).rejects.toMatchObject({
        code: "rate_limited",
        details: { retryAfterSeconds: 2 },
      });
      ac.abort(new Error("client gone"));
      await expect(second).rejects.toThrow("client gone");
      await expect(first).resolves.toMatchObject({ backend: "automatic1111" });
      // The cancelled waiter never reached the upstream; the full-queue refusal did not either.
      expect(fake.requests).toHaveLength(1);
      expect(g.circuit).toBe("closed");
    } finally {
      await fake.close();
    }
  });
});
