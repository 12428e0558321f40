import { HallmarkError } from "../../errors/index.js";
import {
  decodeHashes,
  fromBase64,
  leafHash,
  type NoteVerifier,
  openCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from "../tlog/index.js";
import type { EntriesResponse } from "./serve.js";
import {
  type AuditVerifyReport,
  type EntryProblem,
  type EntryRow,
  verifyRows,
} from "./verify-entries.js";

export interface VerifyHttpOptions {
  /** The gateway's base URL, e.g. `https://gateway.example.com`. */
  url: string;
  verifiers: readonly NoteVerifier[];
  origin: string;
  /** Checkpoints the auditor kept from earlier (signed notes); each is checked against the log. */
  checkpoints?: readonly string[];
  /** The fetch to use (default the global one). */
  fetch?: typeof globalThis.fetch;
}

/** A served proof's hashes, or null when they are not base64 of 32-byte hashes. */
function decodeProof(response: { hashes?: unknown }): Uint8Array[] | null {
  try {
    return Array.isArray(response.hashes) ? decodeHashes(response.hashes as string[]) : null;
  } catch {
    return null;
  }
}

function unavailable(message: string, cause?: unknown): HallmarkError {
  return new HallmarkError("backend_unavailable", message, { cause });
}

/**
 * `hallmark audit verify --url`: the same verification over HTTP, trusting nothing the server
 * says that is not signed. Reads the latest checkpoint (GET /v1/log/checkpoint: a JSON
 * `CheckpointRecord` or the plain note), pages GET /v1/log/entries up to its size, recomputes
 * the tree, and checks each kept checkpoint both against the recomputed tree and with the
 * server's consistency proof to the latest one, and the server's inclusion proof of the last
 * entry. Throws `backend_unavailable` when the server cannot be read.
 */
export async function verifyOverHttp(options: VerifyHttpOptions): Promise<AuditVerifyReport> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const base = options.url.replace(/\/+$/, "");
  const get = async (path: string): Promise<Response> => {
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, { headers: { accept: "application/json" } });
    } catch (error) {
      throw unavailable(`cannot reach ${base}`, error);
    }
    if (!response.ok) throw unavailable(`GET ${path}: HTTP ${response.status}`);
    return response;
  };
  const getJson = async <T>(path: string): Promise<T> => (await (await get(path)).json()) as T;

  const checkpointResponse = await get("/v1/log/checkpoint");
  const body = await checkpointResponse.text();
  const latestNote = (checkpointResponse.headers.get("content-type") ?? "").includes("json")
    ? String((JSON.parse(body) as { note?: unknown }).note ?? "")
    : body;
  const kept = options.checkpoints ?? [];
  const extra: EntryProblem[] = [];
  let latest: ReturnType<typeof openCheckpoint> | null = null;
  try {
    latest = openCheckpoint(latestNote, options.verifiers, options.origin);
  } catch {
    // verifyLog reports the bad checkpoint; entries are then read to the log's end.
  }
  const target = latest?.size;

  async function* rows(): AsyncIterable<EntryRow> {
    let start = 0;
    for (;;) {
      if (target !== undefined && start >= target) return;
      const page = await getJson<EntriesResponse>(`/v1/log/entries?start=${start}`);
      for (const served of page.entries) {
        if (target !== undefined && served.index >= target) return;
        const entry = fromBase64(served.data) ?? new Uint8Array();
        const stored = fromBase64(served.leafHash) ?? undefined;
        const payload = served.payload === undefined ? null : fromBase64(served.payload);
        const salt = served.salt === undefined ? null : fromBase64(served.salt);
        yield {
          index: served.index,
          kind: served.kind,
          entry,
          ...(stored ? { leafHash: stored } : {}),
          ...(payload && salt ? { payload: { salt, bytes: payload } } : {}),
        };
      }
      if (page.end <= start || page.end >= page.size) return;
      start = page.end;
    }
  }

  const report = await verifyRows({
    rows: rows(),
    checkpoints: [latestNote, ...kept],
    verifiers: options.verifiers,
    origin: options.origin,
  });

  // The proof endpoints must agree with the signed roots (what a client holding one entry, or
  // one old checkpoint, relies on).
  if (latest && latest.size > 0) {
    for (const note of kept) {
      let old: ReturnType<typeof openCheckpoint>;
      try {
        old = openCheckpoint(note, options.verifiers, options.origin);
      } catch {
        continue; // already reported as a bad checkpoint
      }
      if (old.size > latest.size) continue; // reported as truncated
      const proof = await getJson<{ hashes: string[] }>(
        `/v1/log/proof/consistency?first=${old.size}&second=${latest.size}`,
      );
      if (
        !verifyConsistency(
          old.size,
          latest.size,
          decodeProof(proof) ?? [],
          old.rootHash,
          latest.rootHash,
        )
      ) {
        extra.push({
          kind: "proof_failed",
          message: `the server's consistency proof from ${old.size} to ${latest.size} does not verify`,
        });
      }
    }
    const last = latest.size - 1;
    const page = await getJson<EntriesResponse>(`/v1/log/entries?start=${last}&end=${last + 1}`);
    const proof = await getJson<{ hashes: string[] }>(
      `/v1/log/proof/inclusion?index=${last}&size=${latest.size}`,
    );
    const data = fromBase64(page.entries[0]?.data ?? "") ?? new Uint8Array();
    if (
      !verifyInclusion(leafHash(data), last, latest.size, decodeProof(proof) ?? [], latest.rootHash)
    ) {
      extra.push({
        kind: "proof_failed",
        index: last,
        message: `the server's inclusion proof of entry ${last} does not verify`,
      });
    }
  }
  return extra.length === 0
    ? report
    : { ...report, ok: false, problems: [...report.problems, ...extra] };
}
