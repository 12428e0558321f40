import { createHash, randomBytes } from "node:crypto";
import { HallmarkError } from "../../errors/index.js";
import { canonicalJson, canonicalJsonBytes, leafHash } from "../tlog/index.js";

/**
 * The envelope: what a log entry's bytes hold (docs/audit-log.md §8). The leaf hashes the
 * envelope; the envelope commits to the payload as SHA-256(salt || payload bytes), so
 * retention can remove the payload (and its salt) and the tree still verifies.
 */

/** Entry kinds; `tombstone` is written only by `tombstone()`. */
export const ENTRY_KINDS = ["generation", "decision", "review", "tombstone"] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/** Version of the envelope format (the `v` member). */
export const ENVELOPE_VERSION = 1;

/** Bytes of random salt per payload. */
export const SALT_SIZE = 16;

/** What a caller appends. */
export interface AuditEntryInput {
  kind: Exclude<EntryKind, "tombstone">;
  /** The generation the entry is about (a UUID), when it is about one. */
  generationId?: string | null;
  /**
   * What was decided and produced (metadata, prompt audit, decision, licence, image hashes,
   * marks, reviewer decision). Removable later by retention; kept out of the leaf except for
   * its salted hash.
   */
  payload: Record<string, unknown>;
  /**
   * Optional members kept in the hashed envelope itself, never removable: only what may be
   * kept forever (e.g. image SHA-256s, the action). No personal data here.
   */
  attributes?: Record<string, unknown>;
  /** The entry's time (default now). */
  time?: Date;
}

/** The envelope of a payload-carrying entry, as parsed from entry bytes. */
export interface Envelope {
  v: number;
  kind: EntryKind;
  time: string;
  generationId?: string;
  attributes?: Record<string, unknown>;
  /** Lower-case hex SHA-256(salt || payload bytes); absent on tombstones. */
  payloadHash?: string;
  /** Tombstones: the index whose payload was removed, and why. */
  redacts?: number;
  reason?: string;
}

/** An entry ready to insert. */
export interface PreparedEntry {
  kind: EntryKind;
  generationId: string | null;
  redactsIndex: number | null;
  time: Date;
  /** The entry bytes (canonical JSON of the envelope), exactly as hashed. */
  bytes: Uint8Array;
  leafHash: Uint8Array;
  payload: { salt: Uint8Array; bytes: Uint8Array } | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function bad(message: string, param: string): HallmarkError {
  return new HallmarkError("invalid_request_error", message, { param });
}

/** SHA-256(salt || payload bytes), lower-case hex: the payload commitment in the envelope. */
export function payloadHash(salt: Uint8Array, payload: Uint8Array): string {
  return createHash("sha256").update(salt).update(payload).digest("hex");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Builds the entry bytes, leaf hash and salted payload of an entry. Throws
 * `HallmarkError("invalid_request_error")` for an unknown kind, a malformed generation id or
 * a payload JSON cannot hold exactly.
 */
export function prepareEntry(input: AuditEntryInput, salt = randomBytes(SALT_SIZE)): PreparedEntry {
  if (
    !(ENTRY_KINDS as readonly string[]).includes(input.kind) ||
    (input.kind as string) === "tombstone"
  ) {
    throw bad(`unknown entry kind ${JSON.stringify(input.kind)}`, "kind");
  }
  const generationId = input.generationId ?? null;
  if (generationId !== null && !UUID.test(generationId)) throw bad("not a UUID", "generationId");
  if (!isPlainObject(input.payload)) throw bad("payload must be an object", "payload");
  if (input.attributes !== undefined && !isPlainObject(input.attributes)) {
    throw bad("attributes must be an object", "attributes");
  }
  const time = input.time ?? new Date();
  const payloadBytes = canonicalJsonBytes(input.payload);
  const envelope: Envelope = {
    v: ENVELOPE_VERSION,
    kind: input.kind,
    time: time.toISOString(),
    ...(generationId === null ? {} : { generationId: generationId.toLowerCase() }),
    ...(input.attributes === undefined ? {} : { attributes: input.attributes }),
    payloadHash: payloadHash(salt, payloadBytes),
  };
  const bytes = canonicalJsonBytes(envelope);
  return {
    kind: input.kind,
    generationId: envelope.generationId ?? null,
    redactsIndex: null,
    time,
    bytes,
    leafHash: leafHash(bytes),
    payload: { salt: new Uint8Array(salt), bytes: payloadBytes },
  };
}

/** The tombstone entry that records the removal of entry `redacts`'s payload. */
export function prepareTombstone(
  redacts: number,
  reason: string,
  time = new Date(),
): PreparedEntry {
  const envelope: Envelope = {
    v: ENVELOPE_VERSION,
    kind: "tombstone",
    time: time.toISOString(),
    redacts,
    reason,
  };
  const bytes = canonicalJsonBytes(envelope);
  return {
    kind: "tombstone",
    generationId: null,
    redactsIndex: redacts,
    time,
    bytes,
    leafHash: leafHash(bytes),
    payload: null,
  };
}

/**
 * Parses entry bytes as an envelope, or returns null when they are not one (not canonical
 * JSON, unknown version or kind, missing members).
 */
export function parseEnvelope(bytes: Uint8Array): Envelope | null {
  let value: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    value = JSON.parse(text);
    if (canonicalJson(value) !== text) return null;
  } catch {
    return null;
  }
  if (!isPlainObject(value)) return null;
  const e = value as Partial<Envelope>;
  if (e.v !== ENVELOPE_VERSION || typeof e.time !== "string") return null;
  if (!(ENTRY_KINDS as readonly string[]).includes(e.kind as string)) return null;
  if (e.kind === "tombstone") {
    return Number.isSafeInteger(e.redacts) && typeof e.reason === "string" ? (e as Envelope) : null;
  }
  return typeof e.payloadHash === "string" && /^[0-9a-f]{64}$/.test(e.payloadHash)
    ? (e as Envelope)
    : null;
}
