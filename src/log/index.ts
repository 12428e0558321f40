import { pino } from "pino";

/**
 * Structured logs: one JSON object per line (pino), on stderr unless a writer is given.
 *
 * Callers pass fields and never secrets: no API keys, no prompts, no signing or watermark keys
 * (CONTRIBUTING.md). As a second line of defence the fields below are censored wherever they
 * appear at the top level or one level down (e.g. `headers.authorization`), so a careless
 * `logger.info("x", { headers })` cannot leak a bearer key or a session cookie.
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Field names whose values are replaced by `[redacted]` in every line. */
export const REDACTED_FIELDS = [
  "authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api_key",
  "apiKey",
  "key",
  "token",
  "password",
  "prompt",
  "negative_prompt",
  "negativePrompt",
] as const;

const REDACT_PATHS = REDACTED_FIELDS.flatMap((f) => {
  const p = /^[A-Za-z_][A-Za-z0-9_]*$/.test(f) ? f : `["${f}"]`;
  return [p, `*.${p}`.replace(".[", "[")];
});

/**
 * A logger at `level`. `write` receives whole lines (ending in "\n"); by default they go to
 * stderr synchronously, so the lines written just before `process.exit` are not lost.
 *
 * @example createLogger("info").info("listening", { url: "http://127.0.0.1:8080" })
 */
export function createLogger(level: LogLevel, write?: (line: string) => void): Logger {
  const destination = write ? { write } : pino.destination({ dest: 2, sync: true });
  const log = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    destination,
  );
  return {
    debug: (msg, fields) => log.debug(fields ?? {}, msg),
    info: (msg, fields) => log.info(fields ?? {}, msg),
    warn: (msg, fields) => log.warn(fields ?? {}, msg),
    error: (msg, fields) => log.error(fields ?? {}, msg),
  };
}
