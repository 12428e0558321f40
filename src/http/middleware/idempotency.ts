import type { MiddlewareHandler } from "hono";
import { findGeneration } from "../../audit/index.js";
import type { Db } from "../../db/index.js";
import { HallmarkError } from "../../errors/index.js";
import type { OutputStore } from "../../outputs/index.js";
import type { AppEnv } from "../context.js";
import {
  claimKey,
  completeKey,
  findKey,
  type HeldKey,
  releaseKey,
  requestFingerprint,
  type StoredResponse,
  sha256Hex,
} from "./idempotency-store.js";

/** The request header (draft-ietf-httpapi-idempotency-key-header §2). */
export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** Marks a replayed response (as Stripe and others name it). */
export const REPLAYED_HEADER = "Idempotent-Replayed";
/** Seconds a client is told to wait before retrying while the first request is in progress. */
const IN_PROGRESS_RETRY_AFTER = 2;
/** Response headers worth replaying; the rest (dates, request ids, timings) belong to the retry. */
const REPLAYED_HEADERS = ["content-type", "location", "retry-after", "x-hallmark-generation-id"];

/** sf-string (`"…"`) as the draft specifies, or a bare token as most clients send it. */
const QUOTED = /^"([\x20-\x21\x23-\x5b\x5d-\x7e]{1,255})"$/;
const BARE = /^[\x21-\x7e]{1,255}$/;

export interface IdempotencyOptions {
  db: Db;
  /** Where image bytes of a response are kept for its replays (sealed, expiring with the key). */
  outputs: OutputStore;
  /** How long a key and its response are kept. */
  ttlHours: number;
  /**
   * After how long an in-progress key is presumed abandoned (its request crashed) and may be
   * taken over by a retry: the request timeout.
   */
  takeoverAfterMs: number;
}

/**
 * `Idempotency-Key` for a POST route (draft-ietf-httpapi-idempotency-key-header), per tenant:
 * - the first request with a key claims it (one INSERT … ON CONFLICT decides among replicas) and
 *   runs; its response is stored (images sealed in the output store, not in the key's row) and
 *   replayed, with `Idempotent-Replayed: true`, to every retry with the same key and body;
 * - the same key with a different body (route + canonical body fingerprint) is 422
 *   `idempotency_key_reused`;
 * - a retry while the first is still running is 409 `idempotency_key_in_use` with Retry-After;
 * - a 5xx or 429 response is not stored: nothing was produced, a retry runs afresh;
 * - a key held longer than `takeoverAfterMs` (its request died) is taken over by a retry; when
 *   the dead request had already recorded its generation, the retry answers 303 See Other to
 *   `/v1/generations/{id}` instead of generating twice.
 * The route learns the generation id to use from `c.get("idempotency")`.
 *
 * @example app.use("/v1/images/edits", idempotency({ db, outputs, ttlHours: 24, takeoverAfterMs }))
 */
export function idempotency(options: IdempotencyOptions): MiddlewareHandler<AppEnv> {
  const { db, outputs } = options;
  return async (c, next) => {
    const header = c.req.header(IDEMPOTENCY_HEADER);
    if (header === undefined || c.req.method !== "POST") return next();
    const key = parseKey(header);
    const principal = c.get("principal");
    const body = await c.req.arrayBuffer();
    const requestHash = await requestFingerprint(
      c.req.method,
      c.req.path,
      c.req.header("content-type"),
      body,
    );
    const keyHash = sha256Hex(key);
    const held = await claimKey(db, {
      tenantId: principal.tenantId,
      keyHash,
      requestHash,
      ttlHours: options.ttlHours,
      takeoverAfterSeconds: options.takeoverAfterMs / 1000,
    });
    if (!held) {
      const row = await findKey(db, principal.tenantId, keyHash);
      // Gone between the two statements (released or expired): the client may simply retry.
      if (!row) throw inUse();
      if (row.requestHash !== requestHash) {
        throw new HallmarkError(
          "idempotency_key_reused",
          "This Idempotency-Key was used with a different request; use a new key for a new request.",
          { param: IDEMPOTENCY_HEADER },
        );
      }
      if (row.state !== "completed" || !row.response) throw inUse();
      return replay(row.response as StoredResponse);
    }

    const generationId = held.row.generationId!;
    // A takeover: did the abandoned attempt get as far as recording its generation?
    if (held.takenOver) {
      const found = await findGeneration(db, generationId);
      if (found) {
        const response = seeOther(generationId);
        await completeKey(db, held, response);
        return replay(response, false);
      }
    }
    c.set("idempotency", { generationId });
    await next();
    await store(held, c.res).catch((error: unknown) => {
      c.get("logger")?.warn("idempotency: the response could not be stored", {
        error: String(error),
      });
      return releaseKey(db, held).catch(() => {});
    });
  };

  async function store(held: HeldKey, res: Response): Promise<void> {
    if (res.status >= 500 || res.status === 429 || res.status === 499) {
      await releaseKey(db, held);
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = res.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const text = await res.clone().text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    const response: StoredResponse = { status: res.status, headers, body };
    const images = imagesOf(body);
    if (images) {
      await outputs.put(db, images.generationId, images.images, held.row.expiresAt);
      response.body = { ...(body as object), data: images.images.map(() => ({ b64_json: null })) };
      response.imagesFrom = images.generationId;
    }
    await completeKey(db, held, response);
  }

  async function replay(stored: StoredResponse, replayed = true): Promise<Response> {
    let body = stored.body;
    if (stored.imagesFrom) {
      const images = await outputs.get(db, stored.imagesFrom);
      // The images outlived by their key (should not happen: they expire together).
      if (!images) return replay(seeOther(stored.imagesFrom));
      body = {
        ...(body as object),
        data: images.map((i) => ({ b64_json: i.bytes.toString("base64") })),
      };
    }
    const headers = new Headers(stored.headers);
    if (replayed) headers.set(REPLAYED_HEADER, "true");
    return new Response(typeof body === "string" ? body : JSON.stringify(body), {
      status: stored.status,
      headers,
    });
  }
}

/** The key's value, or 400 when it is not a valid sf-string / token of 1–255 characters. */
export function parseKey(header: string): string {
  const value = header.trim();
  const quoted = QUOTED.exec(value);
  if (quoted) return quoted[1]!;
  if (BARE.test(value) && !value.startsWith('"')) return value;
  throw new HallmarkError(
    "invalid_request_error",
    "Idempotency-Key must be 1 to 255 visible ASCII characters (optionally in double quotes).",
    { param: IDEMPOTENCY_HEADER },
  );
}

function inUse(): HallmarkError {
  return new HallmarkError(
    "idempotency_key_in_use",
    "A request with this Idempotency-Key is still in progress; retry after it completes.",
    { param: IDEMPOTENCY_HEADER, details: { retryAfterSeconds: IN_PROGRESS_RETRY_AFTER } },
  );
}

function seeOther(generationId: string): StoredResponse {
  const location = `/v1/generations/${generationId}`;
  return {
    status: 303,
    headers: { location, "content-type": "application/json" },
    body: { id: generationId, location },
  };
}

/** The images of an images-API response (`data[].b64_json` with `hallmark.generation_id`). */
function imagesOf(body: unknown): {
  generationId: string;
  images: Array<{ index: number; mediaType: string; bytes: Buffer }>;
} | null {
  const b = body as {
    data?: Array<{ b64_json?: unknown }>;
    hallmark?: { generation_id?: unknown; images?: Array<{ media_type?: unknown }> };
  };
  if (!Array.isArray(b?.data) || typeof b.hallmark?.generation_id !== "string") return null;
  if (!b.data.every((d) => typeof d?.b64_json === "string")) return null;
  return {
    generationId: b.hallmark.generation_id,
    images: b.data.map((d, index) => ({
      index,
      mediaType: String(b.hallmark?.images?.[index]?.media_type ?? "application/octet-stream"),
      bytes: Buffer.from(d.b64_json as string, "base64"),
    })),
  };
}
