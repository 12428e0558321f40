import { PgTransaction } from "drizzle-orm/pg-core";
import { type Db, withDatabase } from "../../db/index.js";

/** Whether `db` is a transaction handle (as `db.transaction(async (tx) => …)` passes). */
export function isTransaction(db: Db): boolean {
  return db instanceof PgTransaction;
}

/** Runs `work` in the caller's transaction when given one, else in a new transaction. */
export async function inTransaction<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  if (isTransaction(db)) return work(db);
  return withDatabase(() => db.transaction((tx) => work(tx)));
}
