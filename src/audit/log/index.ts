/**
 * The audit log over the database: the sequencer (`appendEntry`, inside the caller's
 * transaction), signed checkpoints (`createCheckpointer`, `signCheckpointNow`,
 * `latestCheckpoint`), the checkpoint key (`loadLogKey`), proofs and entries for the HTTP
 * routes, retention (`tombstone`), and whole-log verification from the database or over
 * HTTP. Built on the pure transparency-log core in ../tlog; formats in docs/audit-log.md §8.
 */

export {
  type AppendedEntry,
  appendEntries,
  appendEntry,
  reserveNextIndex,
  STORED_NODE_LEVEL,
} from "./append.js";
export { type Checkpointer, type CheckpointerOptions, createCheckpointer } from "./checkpointer.js";
export {
  type CheckpointRecord,
  latestCheckpoint,
  listCheckpoints,
  type SignCheckpointOptions,
  signCheckpointNow,
} from "./checkpoints.js";
export {
  type AuditEntryInput,
  ENTRY_KINDS,
  type EntryKind,
  type Envelope,
  parseEnvelope,
  payloadHash,
} from "./entry.js";
export { databaseLeafSource } from "./leaf-source.js";
export { LOG_KEY_FILE, type LoadLogKeyOptions, type LogKey, loadLogKey } from "./log-key.js";
export {
  type ConsistencyProofResponse,
  type EntriesResponse,
  getConsistencyProof,
  getEntries,
  getInclusionProof,
  type InclusionProofResponse,
  MAX_ENTRIES_PAGE,
  parseIndexParam,
  type ServedEntry,
} from "./serve.js";
export { MAX_REASON_LENGTH, type TombstoneResult, tombstone } from "./tombstone.js";
export { type VerifyDatabaseOptions, verifyDatabaseLog } from "./verify-database.js";
export type { AuditVerifyReport, EntryProblem, EntryProblemKind } from "./verify-entries.js";
export { type VerifyHttpOptions, verifyOverHttp } from "./verify-http.js";
