import { categoriesOf } from "./pages.js";
import type { SearchRow } from "./search.js";

/**
 * Export formats of a search. Each row carries its audit-log index (and its review entry's),
 * so an auditor can ask the log for an inclusion proof of any exported row.
 */

const COLUMNS = [
  "id",
  "created_at",
  "tenant",
  "end_user",
  "kind",
  "status",
  "action",
  "fired",
  "model",
  "prompt_retention",
  "prompt",
  "prompt_sha256",
  "log_index",
  "review",
  "review_note",
  "review_log_index",
] as const;

function record(r: SearchRow): Record<(typeof COLUMNS)[number], string | number | null> {
  return {
    id: r.id,
    created_at: r.createdAt.toISOString(),
    tenant: r.tenant,
    end_user: r.endUser,
    kind: r.kind,
    status: r.status,
    action: r.action,
    fired: categoriesOf(r.decision).fired.join(" "),
    model: r.model,
    prompt_retention: r.promptRetention,
    prompt: r.prompt,
    prompt_sha256: r.promptSha256,
    log_index: r.logIndex,
    review: r.review,
    review_note: r.reviewNote,
    review_log_index: r.reviewLogIndex,
  };
}

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so spreadsheets do not run it. */
function cell(v: string | number | null): string {
  if (v === null) return "";
  let s = String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n']/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvHeader(): string {
  return `${COLUMNS.join(",")}\r\n`;
}

export function csvLine(r: SearchRow): string {
  const rec = record(r);
  return `${COLUMNS.map((c) => cell(rec[c])).join(",")}\r\n`;
}

export function jsonLine(r: SearchRow): string {
  return `${JSON.stringify(record(r))}\n`;
}
