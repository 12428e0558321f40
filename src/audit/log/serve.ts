import { and, gte, lt } from "drizzle-orm";
import { type Db, withDatabase } from "../../db/index.js";
import { auditLogEntries, auditLogPayloads } from "../../db/schema-audit.js";
import { HallmarkError } from "../../errors/index.js";
import { consistencyProof, encodeHashes, inclusionProof, toBase64 } from "../tlog/index.js";
import { databaseLeafSource } from "./leaf-source.js";
import { logSize } from "./sql.js";

/**
 * The read side behind the HTTP routes (docs/audit-log.md §3 and §8): each function takes
 * query parameters as given (strings or numbers), validates them, and returns a JSON-able
 * object. Bad arguments throw `HallmarkError("invalid_request_error")` with `param`.
 */

/** Most entries one GET /v1/log/entries answers; a longer range is cut to this many. */
export const MAX_ENTRIES_PAGE = 1000;

/** GET /v1/log/proof/inclusion */
export interface InclusionProofResponse {
  index: number;
  size: number;
  /** Base64 sibling hashes, leaf to root. */
  hashes: string[];
}

/** GET /v1/log/proof/consistency */
export interface ConsistencyProofResponse {
  first: number;
  second: number;
  hashes: string[];
}

/** One entry as served. */
export interface ServedEntry {
  index: number;
  kind: string;
  /** Base64 of the entry bytes exactly as hashed (canonical JSON of the envelope). */
  data: string;
  /** Base64 `leaf hash` (= SHA-256(0x00 || data)). */
  leafHash: string;
  /** Base64 payload bytes (canonical JSON) and salt; absent once retention removed them. */
  payload?: string;
  salt?: string;
  createdAt: string;
}

/** GET /v1/log/entries */
export interface EntriesResponse {
  /** First index served. */
  start: number;
  /** One past the last index served (may be below the requested end: page limit, log size). */
  end: number;
  /** The log's size when read. */
  size: number;
  entries: ServedEntry[];
}

/** A query parameter as a non-negative safe integer, or `invalid_request_error` naming it. */
export function parseIndexParam(value: unknown, param: string): number {
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || !/^(?:0|[1-9][0-9]{0,15})$/.test(text)) {
    throw new HallmarkError("invalid_request_error", `${param} must be a non-negative integer`, {
      param,
    });
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new HallmarkError("invalid_request_error", `${param} is too large`, { param });
  }
  return n;
}

/**
 * The `inclusion proof` of entry `index` in the tree of `size` entries (size ≤ the log's size;
 * normally a checkpoint's).
 *
 * @example await getInclusionProof(db, "2", "5") // { index: 2, size: 5, hashes: [3 × base64] }
 */
export async function getInclusionProof(
  db: Db,
  index: unknown,
  size: unknown,
): Promise<InclusionProofResponse> {
  const i = parseIndexParam(index, "index");
  const s = parseIndexParam(size, "size");
  const hashes = await withDatabase(() => inclusionProof(databaseLeafSource(db), i, s));
  return { index: i, size: s, hashes: encodeHashes(hashes) };
}

/** The `consistency proof` between the trees of `first` and `second` entries. */
export async function getConsistencyProof(
  db: Db,
  first: unknown,
  second: unknown,
): Promise<ConsistencyProofResponse> {
  const a = parseIndexParam(first, "first");
  const b = parseIndexParam(second, "second");
  const hashes = await withDatabase(() => consistencyProof(databaseLeafSource(db), a, b));
  return { first: a, second: b, hashes: encodeHashes(hashes) };
}

/**
 * Entries [start, end), at most `MAX_ENTRIES_PAGE` of them and none past the log's end: the
 * answer's `end` says where the next page starts. `end` defaults to start + MAX_ENTRIES_PAGE.
 * Throws `invalid_request_error` (param `start`) when start is at or past the log's size, or
 * (param `end`) when end ≤ start.
 */
export async function getEntries(db: Db, start: unknown, end?: unknown): Promise<EntriesResponse> {
  const from = parseIndexParam(start, "start");
  const requested =
    end === undefined || end === null || end === ""
      ? from + MAX_ENTRIES_PAGE
      : parseIndexParam(end, "end");
  if (requested <= from) {
    throw new HallmarkError("invalid_request_error", "end must be above start", { param: "end" });
  }
  return withDatabase(async () => {
    const size = await logSize(db);
    if (from >= size) {
      throw new HallmarkError(
        "invalid_request_error",
        `start ${from} is not below the log size ${size}`,
        {
          param: "start",
        },
      );
    }
    const to = Math.min(requested, from + MAX_ENTRIES_PAGE, size);
    const entries = await readEntries(db, from, to);
    return { start: from, end: to, size, entries };
  });
}

/** A stored row with its payload (absent once removed), as read for serving and verifying. */
export interface StoredEntry {
  index: number;
  kind: string;
  entry: Uint8Array;
  leafHash: Uint8Array;
  payload?: { salt: Uint8Array; bytes: Uint8Array };
  createdAt: Date;
}

/** Rows [start, end) with their payloads, in index order (no gap check: the caller verifies). */
export async function readStoredEntries(
  db: Db,
  start: number,
  end: number,
): Promise<StoredEntry[]> {
  const inRange = <T extends typeof auditLogEntries | typeof auditLogPayloads>(t: T) =>
    and(gte(t.index, start), lt(t.index, end));
  const rows = await db
    .select()
    .from(auditLogEntries)
    .where(inRange(auditLogEntries))
    .orderBy(auditLogEntries.index);
  const payloads = await db.select().from(auditLogPayloads).where(inRange(auditLogPayloads));
  const byIndex = new Map(payloads.map((p) => [p.index, p]));
  return rows.map((row) => {
    const payload = byIndex.get(row.index);
    return {
      index: row.index,
      kind: row.kind,
      entry: row.entry,
      leafHash: row.leafHash,
      ...(payload ? { payload: { salt: payload.salt, bytes: payload.payload } } : {}),
      createdAt: row.createdAt,
    };
  });
}

/** Rows [start, end) in their served form. */
export async function readEntries(db: Db, start: number, end: number): Promise<ServedEntry[]> {
  return (await readStoredEntries(db, start, end)).map((row) => ({
    index: row.index,
    kind: row.kind,
    data: toBase64(row.entry),
    leafHash: toBase64(row.leafHash),
    ...(row.payload
      ? { payload: toBase64(row.payload.bytes), salt: toBase64(row.payload.salt) }
      : {}),
    createdAt: row.createdAt.toISOString(),
  }));
}
