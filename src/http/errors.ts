import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isConnectionError, isUnstorableTextError } from "../db/index.js";
import { type ErrorCode, HallmarkError } from "../errors/index.js";
import type { AppEnv } from "./context.js";

/** The one mapping from error codes to HTTP statuses. */
const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_request_error: 400,
  invalid_json: 400,
  unknown_parameter: 400,
  prompt_too_long: 400,
  invalid_size: 400,
  content_policy_violation: 400,
  edit_not_supported: 400,
  licence_not_permitted: 403,
  model_not_allowed: 403,
  model_not_found: 404,
  invalid_image: 422,
  audit_verification_failed: 422,
  missing_api_key: 401,
  invalid_api_key: 401,
  insufficient_scope: 403,
  not_found: 404,
  payload_too_large: 413,
  image_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  rate_limit_exceeded: 429,
  quota_exceeded: 429,
  request_cancelled: 499 as ContentfulStatusCode,
  backend_error: 502,
  database_unavailable: 503,
  backend_unavailable: 503,
  stage_unavailable: 503,
  stage_timeout: 503,
  backend_timeout: 504,
  request_timeout: 504,
  shutting_down: 503,
  idempotency_key_reused: 422,
  idempotency_key_in_use: 409,
  invalid_webhook_url: 400,
  signing_failed: 500,
  watermark_failed: 500,
  config_error: 500,
  internal_error: 500,
};

/** OpenAI's error `type` for a status. */
function typeFor(status: number): string {
  if (status === 401 || status === 403)
    return status === 401 ? "invalid_request_error" : "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

export function statusFor(code: ErrorCode): ContentfulStatusCode {
  return STATUS[code] ?? 500;
}

/** The error body every route answers with: OpenAI's shape, plus the request id. */
export function errorBody(error: HallmarkError, requestId: string) {
  const status = statusFor(error.code);
  return {
    error: {
      message: error.message,
      type: typeFor(status),
      code: error.code,
      param: error.param,
      ...(error.details ?? {}),
      request_id: requestId,
    },
  };
}

/** Turns anything thrown into a HallmarkError; unknown errors become internal_error (logged). */
export function normaliseError(error: unknown): HallmarkError {
  if (error instanceof HallmarkError) return error;
  if (error instanceof HTTPException) {
    if (error.status === 400 && /JSON/i.test(error.message)) {
      return new HallmarkError("invalid_json", "The request body is not valid JSON.");
    }
    if (error.status === 415) {
      return new HallmarkError(
        "unsupported_media_type",
        "Unsupported Content-Type for this route.",
      );
    }
    if (error.status === 413)
      return new HallmarkError("payload_too_large", "The request body is too large.");
    if (error.status === 400) return new HallmarkError("invalid_request_error", error.message);
  }
  if (isConnectionError(error)) {
    return new HallmarkError(
      "database_unavailable",
      "The database is unavailable; nothing was produced.",
      {
        cause: error,
      },
    );
  }
  if (isUnstorableTextError(error)) {
    return new HallmarkError(
      "invalid_request_error",
      "The request contains characters that cannot be stored (a NUL byte or invalid UTF-8).",
      { cause: error },
    );
  }
  return new HallmarkError("internal_error", "Internal error.", { cause: error });
}

/**
 * Normalises what a request threw, logs a 5xx with its cause (never for 4xx), and gives the
 * status and request id the answer needs: a JSON response, or a stream's error event.
 */
export function settleError(
  c: Context<AppEnv>,
  thrown: unknown,
  logFields: Record<string, unknown> = {},
): { error: HallmarkError; status: ContentfulStatusCode; requestId: string } {
  const error = normaliseError(thrown);
  const status = statusFor(error.code);
  const requestId = c.get("requestId") ?? "unknown";
  if (status >= 500) {
    c.get("logger")?.error("request failed", {
      request_id: requestId,
      code: error.code,
      cause: describeCause(error),
      ...logFields,
    });
  }
  return { error, status, requestId };
}

export function errorResponse(c: Context<AppEnv>, thrown: unknown): Response {
  const { error, status, requestId } = settleError(c, thrown);
  const headers: Record<string, string> = {};
  const retry = error.details?.retryAfterSeconds;
  if (typeof retry === "number") headers["Retry-After"] = String(retry);
  if (status === 503) headers["Retry-After"] ??= "5";
  if (status === 401) headers["WWW-Authenticate"] = 'Bearer realm="hallmark"';
  const body = errorBody(error, requestId);
  delete (body.error as Record<string, unknown>).retryAfterSeconds;
  return c.json(body, status, headers);
}

function describeCause(error: HallmarkError): string | undefined {
  const cause = error.cause ?? (error.code === "internal_error" ? error : undefined);
  if (!cause) return undefined;
  return cause instanceof Error
    ? `${cause.name}: ${cause.message}\n${cause.stack ?? ""}`
    : String(cause);
}
