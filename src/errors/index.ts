/**
 * The one error type that crosses capability boundaries. Capabilities throw (or return)
 * a `HallmarkError` with a stable `code`; src/http maps each code to an HTTP status and the
 * OpenAI-style error body in one place (see src/http/errors.ts). Users see the code and the
 * message, never a stack.
 */
export type ErrorCode =
  | "invalid_request_error"
  | "invalid_json"
  | "unknown_parameter"
  | "prompt_too_long"
  | "invalid_size"
  | "invalid_image"
  | "unsupported_media_type"
  | "payload_too_large"
  | "image_too_large"
  | "content_policy_violation"
  | "edit_not_supported"
  | "licence_not_permitted"
  | "model_not_allowed"
  | "model_not_found"
  | "stage_unavailable"
  | "stage_timeout"
  | "invalid_api_key"
  | "missing_api_key"
  | "insufficient_scope"
  | "not_found"
  | "rate_limited"
  | "rate_limit_exceeded"
  | "quota_exceeded"
  | "database_unavailable"
  | "backend_unavailable"
  | "backend_error"
  | "backend_timeout"
  | "request_cancelled"
  | "request_timeout"
  | "shutting_down"
  | "idempotency_key_reused"
  | "idempotency_key_in_use"
  | "invalid_webhook_url"
  | "signing_failed"
  | "watermark_failed"
  | "audit_verification_failed"
  | "config_error"
  | "internal_error";

export interface HallmarkErrorOptions {
  /** The request field the error is about, as the OpenAI error shape's `param`. */
  param?: string | null;
  /** Extra, user-safe detail (e.g. the categories that fired). Never secrets. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class HallmarkError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: HallmarkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HallmarkError";
    this.code = code;
    this.param = options.param ?? null;
    this.details = options.details;
  }
}

export function isHallmarkError(value: unknown): value is HallmarkError {
  return value instanceof HallmarkError;
}
