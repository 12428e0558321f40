/**
 * PGlite is one connection. A transaction holds it until its callback returns, and every query
 * on the outer client waits for it. So a query sent through the outer handle (`db` instead of
 * `tx`) from inside a transaction's own callback waits for the transaction, which waits for the
 * query: the request hangs forever, with nothing in the log. On PostgreSQL the same mistake
 * quietly runs outside the transaction on another pooled connection.
 *
 * The guard turns that hang into an immediate error naming the mistake. It marks the work of
 * each transaction's callback with AsyncLocalStorage; a query on the outer client made from
 * that work while the transaction is open is refused. Queries of other requests (other async
 * contexts) wait their turn as before, and work that the callback started but that runs after
 * the transaction has ended is not refused.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { PGlite, Transaction } from "@electric-sql/pglite";

export class OuterHandleInTransactionError extends Error {
  constructor(method: string) {
    super(
      `PGlite: ${method}() on the outer database handle inside one of its own transactions would ` +
        "wait for that transaction forever; query through the transaction's handle (tx) instead.",
    );
    this.name = "OuterHandleInTransactionError";
  }
}

/** Patches `client` in place (its own methods only) and returns it. */
export function guardPgliteTransactions(client: PGlite): PGlite {
  const open = new AsyncLocalStorage<{ open: boolean }>();
  const refuseInside = (method: string) => {
    if (open.getStore()?.open) throw new OuterHandleInTransactionError(method);
  };
  const query = client.query.bind(client);
  const exec = client.exec.bind(client);
  const transaction = client.transaction.bind(client);
  client.query = (async (...args: Parameters<PGlite["query"]>) => {
    refuseInside("query");
    return query(...args);
  }) as PGlite["query"];
  client.exec = async (...args: Parameters<PGlite["exec"]>) => {
    refuseInside("exec");
    return exec(...args);
  };
  client.transaction = (async <T>(callback: (tx: Transaction) => Promise<T>) => {
    refuseInside("transaction");
    return transaction(async (tx) => {
      const state = { open: true };
      try {
        return await open.run(state, () => callback(tx));
      } finally {
        state.open = false;
      }
    });
  }) as PGlite["transaction"];
  return client;
}
