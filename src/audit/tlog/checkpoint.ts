import { HallmarkError } from "../../errors/index.js";
import { fromBase64, toBase64 } from "./encoding.js";
import { HASH_SIZE } from "./hash.js";
import type { NoteSigner, NoteVerifier } from "./keys.js";
import { signNote, type VerifiedNote, verifyNote } from "./note.js";

/**
 * Checkpoints (c2sp.org/tlog-checkpoint, https://c2sp.org/tlog-checkpoint): the note text
 * `<origin>\n<tree size>\n<base64 root hash>\n[extension lines\n]`, signed as a signed note.
 */

/** A log's tree head at one size. */
export interface Checkpoint {
  /** The **origin**: the log's identity, e.g. `example.com/hallmark/audit`. */
  origin: string;
  /** The **tree size**: number of entries committed to. */
  size: number;
  /** The **root hash**: MTH of the first `size` entries (32 bytes). */
  rootHash: Uint8Array;
  /** Optional, opaque, non-empty **extension lines** (NOT RECOMMENDED by the spec). */
  extensions?: string[];
}

function malformed(message: string): HallmarkError {
  return new HallmarkError("audit_verification_failed", message, {
    details: { reason: "malformed_checkpoint" },
  });
}

const BAD_LINE = /[\n\u0000-\u001f]|\p{Cs}/u;

/**
 * The checkpoint note text. Throws `HallmarkError("audit_verification_failed")` when a
 * field cannot be written (empty origin or extension, bad size, root not 32 bytes).
 *
 * @example formatCheckpoint({ origin: "example.com/log", size: 1, rootHash }) // "example.com/log\n1\nbjQL…=\n"
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint;
  if (origin === "" || BAD_LINE.test(origin)) throw malformed("invalid origin");
  if (!Number.isSafeInteger(size) || size < 0) throw malformed("invalid tree size");
  if (rootHash.length !== HASH_SIZE) throw malformed("root hash must be 32 bytes");
  if (extensions.some((line) => line === "" || BAD_LINE.test(line))) {
    throw malformed("extension lines must be non-empty single lines");
  }
  return [origin, String(size), toBase64(rootHash), ...extensions].map((l) => `${l}\n`).join("");
}

/**
 * Parses checkpoint note text (not a whole signed note: see `openCheckpoint`). Throws
 * `HallmarkError("audit_verification_failed")`, details.reason `malformed_checkpoint`.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw malformed("checkpoint text must end in a newline");
  const lines = text.slice(0, -1).split("\n");
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || sizeLine === undefined || rootLine === undefined) {
    throw malformed("checkpoint needs origin, tree size and root hash lines");
  }
  if (origin === "" || BAD_LINE.test(origin)) throw malformed("invalid origin");
  if (!/^(?:0|[1-9][0-9]*)$/.test(sizeLine)) throw malformed("invalid tree size");
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw malformed("tree size too large");
  const rootHash = fromBase64(rootLine);
  if (rootHash === null || rootHash.length !== HASH_SIZE) throw malformed("invalid root hash");
  if (extensions.some((line) => line === "" || BAD_LINE.test(line))) {
    throw malformed("empty extension line");
  }
  return extensions.length > 0
    ? { origin, size, rootHash, extensions }
    : { origin, size, rootHash };
}

/** Formats and signs a checkpoint; the signer's name should equal the origin. */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(checkpoint), signer);
}

/** A checkpoint opened from a signed note, with the note's signatures. */
export interface OpenedCheckpoint extends Checkpoint {
  note: VerifiedNote;
}

/**
 * Verifies a signed checkpoint note with the log's verifiers and parses it. When `origin`
 * is given, the checkpoint's origin must equal it. Throws
 * `HallmarkError("audit_verification_failed")` (details.reason as `verifyNote`, or
 * `malformed_checkpoint`, `wrong_origin`).
 *
 * @example openCheckpoint(await (await fetch(url)).text(), [createNoteVerifier(vkey)], origin)
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  origin?: string,
): OpenedCheckpoint {
  const verified = verifyNote(note, verifiers);
  const checkpoint = parseCheckpoint(verified.text);
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw new HallmarkError(
      "audit_verification_failed",
      `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(origin)}`,
      { details: { reason: "wrong_origin" } },
    );
  }
  return { ...checkpoint, note: verified };
}
