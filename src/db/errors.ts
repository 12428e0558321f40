import { HallmarkError } from "../errors/index.js";

/** Error codes (node, postgres.js, SQLSTATE class 08 / 57P0x) meaning "the database is not there". */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01",
  "57P02",
  "57P03",
]);

/** True when `error` says the database cannot be reached (as opposed to a bad query). */
export function isConnectionError(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (CONNECTION_CODES.has(code) || code.startsWith("08")))
      return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === "string" && /PGlite is closed|ECONNREFUSED/.test(message)) return true;
    if (e instanceof AggregateError && e.errors.some(isConnectionError)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * True when the database refused text from the request it could not store: SQLSTATE 22021
 * (a NUL byte or invalid UTF-8, which PostgreSQL `text` cannot hold) or 22P05. The input is at
 * fault, not the server, so the HTTP layer answers 400 instead of 500.
 */
export function isUnstorableTextError(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === "22021" || code === "22P05") return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Runs a database operation; an unreachable database becomes `database_unavailable` (503). */
export async function withDatabase<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof HallmarkError) throw error;
    if (isConnectionError(error)) {
      throw new HallmarkError(
        "database_unavailable",
        "The database is unavailable; nothing was produced.",
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}
