import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { isConnectionError, withDatabase } from "./errors.js";
import { openDatabase } from "./open.js";
import { tenants } from "./schema.js";
import { testDatabases } from "./test-databases.js";

describe.each(testDatabases())("database on $name", ({ open }) => {
  it("migrates, is idempotent, and stores rows", async () => {
    const database = await open();
    try {
      await database.migrate(); // second run: nothing to do
      await database.db.insert(tenants).values({ name: "acme" });
      const rows = await database.db.select().from(tenants);
      expect(rows.map((r) => r.name)).toEqual(["acme"]);
      await expect(database.db.insert(tenants).values({ name: "acme" })).rejects.toThrow();
      await database.ping();
    } finally {
      await database.close();
    }
  });
});

describe("unreachable database", () => {
  it("fails fast and is classified as a connection error", async () => {
    const database = await openDatabase({
      url: "postgres://nobody@127.0.0.1:1/none",
      connectTimeoutSeconds: 2,
    });
    const error = await database.db.execute(sql`select 1`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isConnectionError(error)).toBe(true);
    await expect(withDatabase(() => database.ping())).rejects.toMatchObject({
      code: "database_unavailable",
    });
    await database.close();
  });

  it("a closed PGlite is a connection error too", async () => {
    const database = await openDatabase();
    await database.close();
    await expect(withDatabase(() => database.ping())).rejects.toMatchObject({
      code: "database_unavailable",
    });
  });
});
