import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database, Db } from "../../db/index.js";
import { testDatabases } from "../../db/test-databases.js";
import { HallmarkError } from "../../errors/index.js";
import { latestCheckpoint, signCheckpointNow } from "./checkpoints.js";
import { getConsistencyProof, getEntries, getInclusionProof } from "./serve.js";
import { appendMany, asTamperer, ORIGIN, testKey } from "./test-support.js";
import { verifyOverHttp } from "./verify-http.js";

/** The routes as the HTTP layer will wire them: thin wrappers over serve.ts. */
function logRoutes(db: Db): Hono {
  const app = new Hono();
  app.get("/v1/log/checkpoint", async (c) => c.json(await latestCheckpoint(db)));
  app.get("/v1/log/proof/inclusion", async (c) =>
    c.json(await getInclusionProof(db, c.req.query("index"), c.req.query("size"))),
  );
  app.get("/v1/log/proof/consistency", async (c) =>
    c.json(await getConsistencyProof(db, c.req.query("first"), c.req.query("second"))),
  );
  app.get("/v1/log/entries", async (c) =>
    c.json(await getEntries(db, c.req.query("start"), c.req.query("end"))),
  );
  app.onError((error, c) =>
    c.json({ error: { message: error.message } }, error instanceof HallmarkError ? 400 : 500),
  );
  return app;
}

describe.each(testDatabases())("audit verify over HTTP ($name)", ({ open }) => {
  let database: Database;
  const key = testKey();
  let firstNote: string;
  const run = (db: Db, checkpoints: string[] = []) => {
    const app = logRoutes(db);
    return verifyOverHttp({
      url: "http://gateway.test/",
      verifiers: [key.verifier],
      origin: ORIGIN,
      checkpoints,
      fetch: async (input, init) => app.request(String(input), init),
    });
  };

  beforeAll(async () => {
    database = await open();
    await appendMany(database.db, 700);
    firstNote = (await signCheckpointNow({ db: database.db, ...key, origin: ORIGIN }))!.note;
    await appendMany(database.db, 1100);
    await signCheckpointNow({ db: database.db, ...key, origin: ORIGIN });
  });
  afterAll(async () => {
    await database?.close();
  });

  it("pages every entry, checks the latest and the kept checkpoints and the served proofs", async () => {
    const report = await run(database.db, [firstNote]);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, size: 1800, verifiedSize: 1800 });
  });

  it("detects an entry changed in the database behind the server", async () => {
    const report = await asTamperer(database.db, async (tx) => {
      await tx.execute(
        sql`update audit_log_entries set entry = overlay(entry placing '\\x5a'::bytea from 20 for 1) where index = 1500`,
      );
      return run(tx, [firstNote]);
    });
    expect(report).toMatchObject({ ok: false, firstBadEntry: 1500, firstBadEntryExact: true });
  });

  it("detects a stored node changed: the served proofs stop verifying", async () => {
    const report = await asTamperer(database.db, async (tx) => {
      await tx.execute(
        sql`update audit_log_nodes set hash = sha256(hash) where level = 9 and index = 0`,
      );
      return run(tx, [firstNote]);
    });
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.kind)).toContain("proof_failed");
  });

  it("fails with backend_unavailable when the server cannot be read", async () => {
    await expect(
      verifyOverHttp({
        url: "http://gateway.test",
        verifiers: [key.verifier],
        origin: ORIGIN,
        fetch: async () => new Response("no", { status: 503 }),
      }),
    ).rejects.toMatchObject({ code: "backend_unavailable" });
  });
});
