/**
 * The transparency-log core of the audit capability: RFC 6962 / RFC 9162 Merkle hashing and
 * proofs, C2SP signed notes and checkpoints, RFC 8785 entry bytes, and whole-log
 * verification. Pure and database-independent; the formats are specified in
 * docs/audit-log.md. Verification (verify-proofs.ts, note verification, checkpoint parsing,
 * verify-log.ts) does not depend on the writing side (proofs.ts, signing).
 */

export { canonicalJson, canonicalJsonBytes, entryLeafHash, isCanonicalJson } from "./canonical.js";
export {
  type Checkpoint,
  formatCheckpoint,
  type OpenedCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from "./checkpoint.js";
export { CompactRange, type CompactRangeState, type PerfectNode } from "./compact.js";
export { decodeHashes, encodeHashes, fromBase64, toBase64 } from "./encoding.js";
export { emptyRoot, fromHex, HASH_SIZE, hashEquals, leafHash, nodeHash, toHex } from "./hash.js";
export {
  createNoteSigner,
  createNoteVerifier,
  formatVerifierKey,
  generateNoteKey,
  isValidKeyName,
  type NoteSigner,
  type NoteVerifier,
  noteKeyId,
  verifierKeyOf,
} from "./keys.js";
export { type LeafSource, MemoryLeafSource, rootHash } from "./merkle.js";
export {
  type NoteSignature,
  type ParsedNote,
  parseNote,
  signNote,
  type VerifiedNote,
  verifyNote,
} from "./note.js";
export {
  compactRangeAt,
  consistencyProof,
  inclusionProof,
  rootHashAt,
  subtreeHash,
} from "./proofs.js";
export {
  type CheckpointResult,
  type LogEntryInput,
  type LogProblem,
  type LogProblemKind,
  type VerifyLogInput,
  type VerifyLogReport,
  verifyLog,
} from "./verify-log.js";
export { rootFromInclusionProof, verifyConsistency, verifyInclusion } from "./verify-proofs.js";
