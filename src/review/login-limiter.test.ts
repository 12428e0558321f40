import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/index.js";
import { reviewLoginFailures } from "../db/schema-reviewers.js";
import { testDatabases } from "../db/test-databases.js";
import { createLoginLimiter } from "./login-limiter.js";

describe.each(testDatabases())("login limiter on $name", (testDb) => {
  let database: Database;
  let now = 1_800_000_000_000;
  const clock = () => now;
  const limits = { maxFailures: 2, maxFailuresPerIp: 3, windowS: 60 };

  beforeAll(async () => {
    database = await testDb.open();
  }, 120_000);
  afterAll(() => database?.close());

  it("locks a username after its failures, an address after its own, for the window", async () => {
    const l = createLoginLimiter(database.db, limits, clock);
    const t = now;
    await l.fail("a", "ip1");
    expect(await l.retryAfter("a", "ip1")).toBe(0);
    now = t + 1000;
    await l.fail("a", "ip2");
    // Locked until the oldest counted failure (at t) leaves the 60 s window.
    expect(await l.retryAfter("a", "ip3")).toBe(59);
    expect(await l.retryAfter("b", "ip3")).toBe(0);
    now = t + 61_000;
    expect(await l.retryAfter("a", "ip3")).toBe(0);
    for (const name of ["b", "c", "d"]) await l.fail(name, "ip9");
    now = t + 71_000;
    expect(await l.retryAfter("e", "ip9")).toBe(50);
    await l.succeed("d");
    expect(await l.retryAfter("d", "ip8")).toBe(0);
  });

  it("is shared by every replica and kept across a restart", async () => {
    now += 3_600_000;
    const replicaA = createLoginLimiter(database.db, limits, clock);
    const replicaB = createLoginLimiter(database.db, limits, clock);
    await replicaA.fail("shared", "10.0.0.1");
    await replicaB.fail("shared", "10.0.0.2");
    expect(await replicaA.retryAfter("shared", "10.0.0.3")).toBe(60);
    expect(await replicaB.retryAfter("shared", "10.0.0.3")).toBe(60);
    const restarted = createLoginLimiter(database.db, limits, clock);
    expect(await restarted.retryAfter("shared", "10.0.0.3")).toBe(60);
    // A success on one replica clears the username for all.
    await replicaB.succeed("shared");
    expect(await replicaA.retryAfter("shared", "10.0.0.3")).toBe(0);
  });

  it("keeps neither usernames nor addresses, and only one window of rows", async () => {
    now += 3_600_000;
    const l = createLoginLimiter(database.db, limits, clock);
    await l.fail("hunter2-typed-as-a-name", "203.0.113.7");
    const stored = JSON.stringify(await database.db.select().from(reviewLoginFailures));
    expect(stored).not.toContain("hunter2");
    expect(stored).not.toContain("203.0.113.7");
    // The next failure, a window later, deletes every row older than the window.
    now += 61_000;
    await l.fail("someone", "198.51.100.1");
    const rows = await database.db.select().from(reviewLoginFailures);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.at.getTime() === now)).toBe(true);
  });
});
