import { HallmarkError } from "../errors/index.js";

/**
 * Marks an error as safe to retry: the upstream cannot have started work on the request
 * (connection refused before anything was sent, or a 502/503 from a proxy in front of it whose
 * body was never read). A symbol, so the mark never reaches an error body or a log line as data.
 */
const SAFE_TO_RETRY = Symbol("hallmark.generate.safeToRetry");

export function markSafeToRetry<E extends Error>(error: E): E {
  Object.defineProperty(error, SAFE_TO_RETRY, { value: true, enumerable: false });
  return error;
}

export function isSafeToRetry(error: unknown): boolean {
  return typeof error === "object" && error !== null && SAFE_TO_RETRY in error;
}

/** Strips the mark, for calls made after the upstream accepted work (a retry would duplicate it). */
export function notSafeToRetry(error: unknown): unknown {
  if (isSafeToRetry(error)) {
    const copy = new HallmarkError((error as HallmarkError).code, (error as Error).message, {
      details: (error as HallmarkError).details,
      cause: (error as Error).cause,
    });
    return copy;
  }
  return error;
}

export interface UpstreamRequest {
  fetch: typeof fetch;
  /** Human name of the backend for messages ("AUTOMATIC1111", "ComfyUI"). */
  label: string;
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string | FormData;
  signal: AbortSignal;
  /**
   * Maps a non-2xx answer (other than 502/503, which are always `backend_unavailable`) to an
   * error; `text` is at most the first 4 KiB of the body. Falls back to `backend_error`.
   */
  mapError?: (status: number, text: string, headers: Headers) => HallmarkError | undefined;
}

const MAX_ERROR_TEXT = 4096;

/**
 * One HTTP exchange with a backend, with its failures typed: unreachable → `backend_unavailable`
 * (safe to retry only when the connection was refused), 502/503 → `backend_unavailable` (safe to
 * retry; the body is cancelled unread), 429 → `backend_unavailable` with the upstream's
 * Retry-After, anything else → `mapError` or `backend_error`. An aborted signal rethrows its reason.
 */
export async function requestUpstream(request: UpstreamRequest): Promise<Response> {
  const { label, signal } = request;
  let response: Response;
  try {
    response = await request.fetch(request.url, {
      method: request.method ?? (request.body === undefined ? "GET" : "POST"),
      headers: request.headers,
      body: request.body,
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const unavailable = new HallmarkError(
      "backend_unavailable",
      `The ${label} backend cannot be reached.`,
      { cause: error },
    );
    throw connectionRefused(error) ? markSafeToRetry(unavailable) : unavailable;
  }
  if (response.ok) return response;
  const { status } = response;
  if (status === 502 || status === 503) {
    await response.body?.cancel().catch(() => {});
    throw markSafeToRetry(
      new HallmarkError("backend_unavailable", `The ${label} backend answered HTTP ${status}.`),
    );
  }
  const text = await readErrorText(response);
  const mapped = request.mapError?.(status, text, response.headers);
  if (mapped) throw mapped;
  if (status === 429) {
    const retryAfter = Number(response.headers.get("retry-after"));
    throw new HallmarkError("backend_unavailable", `The ${label} backend is at capacity.`, {
      details: {
        retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 5,
      },
    });
  }
  throw new HallmarkError("backend_error", `The ${label} backend answered HTTP ${status}.`);
}

/** Reads a JSON body; a body that is not JSON is `backend_error`. */
export async function readUpstreamJson(
  response: Response,
  label: string,
  signal: AbortSignal,
): Promise<unknown> {
  try {
    return await response.json();
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new HallmarkError("backend_error", `The ${label} backend sent a body that is not JSON.`, {
      cause: error,
    });
  }
}

/** Reads a binary body of at most `maxBytes`; a longer one is `backend_error`. */
export async function readUpstreamBytes(
  response: Response,
  label: string,
  signal: AbortSignal,
  maxBytes: number,
): Promise<Buffer> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new HallmarkError("backend_error", `The ${label} backend sent an oversized image.`);
  }
  try {
    const bytes = Buffer.from(await response.arrayBuffer());
    if (bytes.length > maxBytes) {
      throw new HallmarkError("backend_error", `The ${label} backend sent an oversized image.`);
    }
    return bytes;
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof HallmarkError) throw error;
    throw new HallmarkError("backend_error", `The ${label} backend's answer was cut short.`, {
      cause: error,
    });
  }
}

async function readErrorText(response: Response): Promise<string> {
  try {
    const text = await response.text();
    return text.slice(0, MAX_ERROR_TEXT);
  } catch {
    return "";
  }
}

/** undici reports a refused connection as `TypeError: fetch failed` with the socket error as cause. */
function connectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | undefined)?.cause as
    | { code?: string; errors?: Array<{ code?: string }> }
    | undefined;
  if (!cause) return false;
  if (cause.code === "ECONNREFUSED") return true;
  return Array.isArray(cause.errors) && cause.errors.every((e) => e.code === "ECONNREFUSED");
}
