import { HallmarkError } from "../../errors/index.js";
import { fromBase64, toBase64 } from "./encoding.js";
import { isValidKeyName, type NoteSigner, type NoteVerifier } from "./keys.js";

/**
 * Signed notes (c2sp.org/signed-note, https://c2sp.org/signed-note; Go's
 * golang.org/x/mod/sumdb/note): a text ending in a newline, a blank line, then signature
 * lines `— <key name> <base64(key ID || signature)>`.
 */

/** Verifiers must accept at least 16 signatures; like Go's note package we read up to 100. */
export const MAX_NOTE_SIGNATURES = 100;

const SIGNATURE_PREFIX = "— ";

/** One signature line of a note. */
export interface NoteSignature {
  /** Key name. */
  name: string;
  /** The uint32 key ID (first 4 bytes of the decoded signature, big-endian). */
  keyId: number;
  /** The signature itself, after the key ID. */
  signature: Uint8Array;
}

/** A note split into its text and signature lines, nothing verified. */
export interface ParsedNote {
  /** The note text, including its final newline. */
  text: string;
  signatures: NoteSignature[];
}

/** A note whose signatures by known keys all verified. */
export interface VerifiedNote {
  text: string;
  /** Signatures by the given verifiers (at least one). */
  verified: NoteSignature[];
  /** Signatures by keys not given (witnesses, rotated keys), ignored as the spec requires. */
  unverified: NoteSignature[];
}

function failure(reason: string, message: string, details: Record<string, unknown> = {}) {
  return new HallmarkError("audit_verification_failed", message, {
    details: { reason, ...details },
  });
}

// Lone surrogates cannot be encoded as UTF-8; control characters other than \n are forbidden.
const FORBIDDEN = /[\u0000-\u0009\u000b-\u001f]|\p{Cs}/u;

function decode(note: string | Uint8Array): string {
  if (typeof note === "string") return note;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(note);
  } catch {
    throw failure("malformed_note", "note is not valid UTF-8");
  }
}

function checkText(text: string): void {
  if (!text.endsWith("\n") || FORBIDDEN.test(text)) {
    throw failure(
      "malformed_note",
      "note text must end in a newline and hold no control characters",
    );
  }
}

/**
 * Signs `text` (which must end in "\n") with each signer, in order.
 *
 * @example signNote("hello\n", createNoteSigner(skey)) // "hello\n\n— name AbCd…=\n"
 */
export function signNote(text: string, signers: NoteSigner | readonly NoteSigner[]): string {
  checkText(text);
  const list = Array.isArray(signers) ? signers : [signers as NoteSigner];
  const message = new TextEncoder().encode(text);
  let lines = "";
  for (const signer of list) {
    if (!isValidKeyName(signer.name)) throw failure("malformed_note", "invalid signer name");
    const signature = signer.sign(message);
    const bytes = new Uint8Array(4 + signature.length);
    new DataView(bytes.buffer).setUint32(0, signer.keyId >>> 0);
    bytes.set(signature, 4);
    lines += `${SIGNATURE_PREFIX}${signer.name} ${toBase64(bytes)}\n`;
  }
  return `${text}\n${lines}`;
}

/**
 * Splits a signed note into text and signature lines without checking any signature.
 * Throws `HallmarkError("audit_verification_failed")`, details.reason `malformed_note`, when
 * the note breaks the format (no blank line, bad signature line, control characters, too
 * many signatures).
 */
export function parseNote(note: string | Uint8Array): ParsedNote {
  const whole = decode(note);
  if (FORBIDDEN.test(whole)) throw failure("malformed_note", "note holds control characters");
  const split = whole.lastIndexOf("\n\n");
  if (split < 0) throw failure("malformed_note", "note has no blank line before signatures");
  const text = whole.slice(0, split + 1);
  const block = whole.slice(split + 2);
  if (!block.endsWith("\n")) throw failure("malformed_note", "note must end in a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw failure("malformed_note", `note has more than ${MAX_NOTE_SIGNATURES} signatures`);
  }
  const signatures = lines.map((line, i) => {
    const rest = line.startsWith(SIGNATURE_PREFIX) ? line.slice(SIGNATURE_PREFIX.length) : null;
    const space = rest?.indexOf(" ") ?? -1;
    const name = rest?.slice(0, space) ?? "";
    const bytes = space < 0 ? null : fromBase64(rest!.slice(space + 1));
    if (!isValidKeyName(name) || bytes === null || bytes.length < 5) {
      throw failure("malformed_note", `malformed signature line ${i + 1}`);
    }
    const keyId = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
    return { name, keyId, signature: bytes.slice(4) };
  });
  return { text, signatures };
}

/**
 * Opens a signed note with the given verifiers, following the signed-note rules: a signature
 * whose key name and key ID match a verifier must verify; others are ignored; at least one
 * must verify. Throws `HallmarkError("audit_verification_failed")` with details.reason
 * `malformed_note`, `ambiguous_key`, `invalid_signature` or `no_verified_signature`.
 */
export function verifyNote(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
): VerifiedNote {
  const { text, signatures } = parseNote(note);
  const message = new TextEncoder().encode(text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  for (const sig of signatures) {
    const matches = verifiers.filter((v) => v.name === sig.name && v.keyId === sig.keyId);
    const key = `${sig.name}+${sig.keyId.toString(16).padStart(8, "0")}`;
    if (matches.length > 1) throw failure("ambiguous_key", `ambiguous key ${key}`, { key });
    const verifier = matches[0];
    if (verifier === undefined) {
      unverified.push(sig);
    } else if (!verifier.verify(message, sig.signature)) {
      throw failure("invalid_signature", `invalid signature for key ${key}`, { key });
    } else if (!verified.some((v) => v.name === sig.name && v.keyId === sig.keyId)) {
      verified.push(sig);
    }
  }
  if (verified.length === 0) {
    throw failure("no_verified_signature", "note has no signature by a known key", {
      keys: unverified.map((s) => `${s.name}+${s.keyId.toString(16).padStart(8, "0")}`),
    });
  }
  return { text, verified, unverified };
}
