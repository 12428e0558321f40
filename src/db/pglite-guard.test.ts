import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDatabase } from "./open.js";
import { OuterHandleInTransactionError } from "./pglite-guard.js";
import { tenants } from "./schema.js";

/** The guard's error, where drizzle wraps it as the cause of its own query error. */
function guardError(error: unknown): Error | null {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof OuterHandleInTransactionError) return e;
  }
  return null;
}

/** PGlite only: on PostgreSQL the outer handle is another pooled connection (no hang). */
describe("PGlite: the outer handle inside one of its own transactions", () => {
  const withDb = async (
    run: (db: Awaited<ReturnType<typeof openDatabase>>["db"]) => Promise<void>,
  ) => {
    const database = await openDatabase();
    try {
      await database.migrate();
      await run(database.db);
    } finally {
      await database.close();
    }
  };

  it("fails at once (it used to hang) and the transaction rolls back", async () => {
    await withDb(async (db) => {
      const attempt = db.transaction(async (tx) => {
        await tx.insert(tenants).values({ name: "inside" });
        await db.select().from(tenants); // the mistake: db instead of tx
      });
      const error = await attempt.then(() => null, guardError);
      expect(error).toBeInstanceOf(OuterHandleInTransactionError);
      expect(error?.message).toMatch(/through the transaction's handle \(tx\)/);
      expect(await db.select().from(tenants).where(eq(tenants.name, "inside"))).toEqual([]);
      // The same for a nested transaction opened on the outer handle.
      const nested = db.transaction(async () => {
        await db.transaction(async (inner) => {
          await inner.select().from(tenants);
        });
      });
      expect(await nested.then(() => null, guardError)).toBeInstanceOf(
        OuterHandleInTransactionError,
      );
    });
  });

  it("lets other work wait for the transaction, as before", async () => {
    await withDb(async (db) => {
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const tx = db.transaction(async (t) => {
        await t.insert(tenants).values({ name: "first" });
        await gate;
      });
      // Another request's query (its own async context) queues behind the transaction.
      const other = (async () => {
        await new Promise((r) => setImmediate(r));
        return db.select().from(tenants);
      })();
      await new Promise((r) => setTimeout(r, 20));
      release();
      await tx;
      expect((await other).map((r) => r.name)).toEqual(["first"]);
    });
  });

  it("does not refuse work the callback started that runs after the transaction ended", async () => {
    await withDb(async (db) => {
      let later: Promise<unknown> = Promise.resolve();
      await db.transaction(async (tx) => {
        await tx.insert(tenants).values({ name: "committed" });
        later = (async () => {
          await new Promise((r) => setTimeout(r, 10));
          return db.select().from(tenants);
        })();
      });
      expect(((await later) as Array<{ name: string }>).map((r) => r.name)).toEqual(["committed"]);
    });
  });
});
