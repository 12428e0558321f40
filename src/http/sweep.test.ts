import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { formatSweep, prepareSweep, runSweep, type SweepTarget, sweepRoutes } from "./sweep.js";

/**
 * The security sweep at CI size: every registered route gets generated bodies, queries, headers
 * and path parameters; none may answer 5xx or hang. `npm run sweep` runs 10,000 per route.
 */
describe.each(testDatabases())("security sweep of every route on $name", (testDb) => {
  let gw: TestGateway;
  let target: SweepTarget;
  beforeAll(async () => {
    // Generated wrong keys would soon have the one client address refused with 429 before any
    // route is reached (HALLMARK_AUTH_FAILURES_PER_MINUTE; tested in moderations.security).
    gw = await startTestGateway(testDb, { HALLMARK_AUTH_FAILURES_PER_MINUTE: "0" });
    target = await prepareSweep(gw);
  }, 240_000);
  afterAll(() => gw.close());

  it("covers the API, the audit log, operations and the review workspace", () => {
    const routes = sweepRoutes(target.app).map((r) => `${r.method} ${r.path}`);
    expect(routes).toEqual(
      expect.arrayContaining([
        "POST /v1/images/generations",
        "POST /v1/moderations",
        "POST /v1/provenance/verify",
        "GET /v1/generations/:id",
        "GET /v1/log/entries",
        "GET /metrics",
        "GET /docs",
        "POST /review/g/:id/decide",
      ]),
    );
  });

  it("answers generated requests to every route with 2xx-4xx, never 5xx, never a hang", async () => {
    const rows = await runSweep(target, { perRoute: 12, seed: 9, concurrency: 2 });
    console.log(formatSweep(rows));
    const failing = rows.filter((r) => r["5xx"] > 0 || r.hung > 0);
    expect(failing.flatMap((r) => r.failures)).toEqual([]);
    expect(rows.every((r) => r.requests > 0)).toBe(true);
  }, 600_000);
});
