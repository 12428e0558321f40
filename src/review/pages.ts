import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { ReviewerInfo } from "./accounts.js";
import type { Item } from "./decide.js";
import type { LiveValidation } from "./live-c2pa.js";
import type { SearchFilter, SearchRow } from "./search.js";
import type { Reviewer } from "./session.js";

/**
 * The workspace's pages, rendered on the server with `hono/html`: every interpolated value is
 * HTML-escaped (prompts are hostile input); `raw` is used only for the constant style sheet.
 * No scripts: the pages work as plain forms and links.
 */

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const STYLE = raw(`
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{background:#1d2a3a;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header a{color:#fff}main{padding:16px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
mark{background:#ffd54f}.fired{color:#b00020;font-weight:600}.muted{color:#777}
.prompt{white-space:pre-wrap;font-family:ui-monospace,monospace;background:#f6f6f6;padding:6px}
form.inline{display:inline}label{margin-right:8px}.error{color:#b00020}code{word-break:break-all}
.panel{border:1px solid #ccd;padding:4px 12px;margin:12px 0;background:#fafbff}.created{background:#e8f5e9;padding:6px}
`);

/** The page frame. */
export function layout(title: string, body: Html, who?: Reviewer): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>${title} · Hallmark review</title>
<style>${STYLE}</style></head>
<body><header><strong>Hallmark review</strong>${
    who
      ? html`<a href="/review">Queue</a><a href="/review/search?flagged=1">Flagged</a><a href="/review/search">Search</a><a href="/review/stats">Per day</a>
${who.role === "admin" ? html`<a href="/review/admin/reviewers">Reviewers</a>` : ""}${who.username ? html`<a href="/review/account">Account</a>` : ""}
<span class="muted">${who.username ? html`${who.username} (${who.role})` : html`key ${who.prefix}… (${who.tenantName})`}</span>${
          who.csrfToken
            ? html`<form class="inline" method="post" action="/review/logout">
<input type="hidden" name="csrf" value="${who.csrfToken}"><button>Log out</button></form>`
            : ""
        }`
      : ""
  }</header><main><h1>${title}</h1>${body}</main></body></html>`;
}

/** The login form: an account (username and password), or a review-scoped API key. */
export function loginPage(csrf: string, error?: string): Html {
  return layout(
    "Log in",
    html`${error ? html`<p class="error" role="alert">${error}</p>` : ""}
<form method="post" action="/review/login" class="login">
<input type="hidden" name="csrf" value="${csrf}">
<p><label>Username <input name="username" autocomplete="username" required maxlength="64"></label></p>
<p><label>Password <input type="password" name="password" autocomplete="current-password" required maxlength="256"></label></p>
<button>Log in</button></form>
<details><summary>Log in with an API key instead</summary>
<form method="post" action="/review/login"><input type="hidden" name="csrf" value="${csrf}">
<label>API key with the review scope <input type="password" name="key" autocomplete="off" required></label>
<button>Log in with key</button></form></details>`,
  );
}

export function errorPage(status: number, message: string, who?: Reviewer): Html {
  return layout(`Error ${status}`, html`<p class="error">${message}</p>`, who);
}

interface CategoryView {
  name: string;
  score: number;
  review: number;
  block: number;
  action: string;
  spans: Array<{ start: number; end: number; screen?: string; term?: string }>;
}

/** The categories of a stored decision, defensively read (the column is jsonb). */
export function categoriesOf(decision: unknown): { fired: string[]; list: CategoryView[] } {
  const d = (decision ?? {}) as { fired?: unknown; categories?: unknown };
  const fired = Array.isArray(d.fired) ? d.fired.filter((x) => typeof x === "string") : [];
  const list: CategoryView[] = [];
  if (d.categories && typeof d.categories === "object") {
    for (const [name, v] of Object.entries(d.categories as Record<string, Partial<CategoryView>>)) {
      list.push({
        name,
        score: Number(v?.score ?? 0),
        review: Number(v?.review ?? 0),
        block: Number(v?.block ?? 0),
        action: String(v?.action ?? ""),
        spans: Array.isArray(v?.spans) ? v.spans : [],
      });
    }
  }
  return { fired, list };
}

/** The prompt with the matched spans (of the prompt screen) wrapped in <mark>, all escaped. */
export function highlighted(prompt: string, decision: unknown): Html {
  const ranges = categoriesOf(decision)
    .list.flatMap((c) => c.spans)
    .filter((s) => (s.screen ?? "prompt") === "prompt")
    .map((s) => [Math.max(0, Number(s.start)), Math.min(prompt.length, Number(s.end))] as const)
    .filter(([a, b]) => Number.isInteger(a) && Number.isInteger(b) && a < b)
    .sort((x, y) => x[0] - y[0]);
  const parts: Html[] = [];
  let at = 0;
  for (const [a, b] of ranges) {
    if (b <= at) continue;
    const start = Math.max(a, at);
    parts.push(html`${prompt.slice(at, start)}<mark>${prompt.slice(start, b)}</mark>`);
    at = b;
  }
  parts.push(html`${prompt.slice(at)}`);
  return html`<div class="prompt">${parts}</div>`;
}

function promptCell(row: { prompt: string | null; promptSha256: string; decision: unknown }): Html {
  return row.prompt === null
    ? html`<span class="muted">not kept; SHA-256 <code>${row.promptSha256}</code></span>`
    : highlighted(row.prompt, row.decision);
}

function scores(decision: unknown): Html {
  const { fired, list } = categoriesOf(decision);
  // Fired categories first, then the rest by score; scores that round to 0.00 are noise here.
  const shown = list
    .filter((c) => c.score >= 0.005 || fired.includes(c.name))
    .sort(
      (a, b) =>
        Number(fired.includes(b.name)) - Number(fired.includes(a.name)) || b.score - a.score,
    );
  if (shown.length === 0) return html`<span class="muted">no category scored</span>`;
  return html`${shown.map(
    (c) =>
      html`<div class="${fired.includes(c.name) ? "fired" : ""}">${c.name}: ${c.score.toFixed(2)}${
        fired.includes(c.name) ? html` (${c.action})` : ""
      }</div>`,
  )}`;
}

function rowsTable(rows: SearchRow[]): Html {
  if (rows.length === 0) return html`<p class="muted">Nothing here.</p>`;
  return html`<table><thead><tr><th>When (UTC)</th><th>Tenant</th><th>Status / action</th>
<th>Categories</th><th>Prompt</th><th>Review</th></tr></thead><tbody>${rows.map(
    (r) => html`<tr><td><a href="/review/g/${r.id}">${r.createdAt.toISOString()}</a></td>
<td>${r.tenant}${r.endUser ? html`<div class="muted">user ${r.endUser}</div>` : ""}</td>
<td>${r.status} / ${r.action}${r.kind === "generate" ? "" : html`<div class="muted">${r.kind}</div>`}</td><td>${scores(r.decision)}</td><td>${promptCell(r)}</td>
<td>${r.review ?? html`<span class="muted">—</span>`}</td></tr>`,
  )}</tbody></table>`;
}

export function queuePage(who: Reviewer, rows: SearchRow[]): Html {
  return layout(
    "Review queue",
    html`<p>Requests held for review or blocked, on every tenant, not yet decided, oldest first.</p>${rowsTable(rows)}`,
    who,
  );
}

function field(name: keyof SearchFilter, label: string, value: string | undefined, type = "text") {
  return html`<label>${label} <input type="${type}" name="${name}" value="${value ?? ""}"></label>`;
}

function select(name: keyof SearchFilter, options: string[], value: string | undefined) {
  return html`<label>${name} <select name="${name}"><option value="">any</option>${options.map(
    (o) => html`<option${o === value ? raw(" selected") : ""}>${o}</option>`,
  )}</select></label>`;
}

export function searchPage(
  who: Reviewer,
  filter: SearchFilter,
  query: string,
  rows: SearchRow[],
  /** The query string of the next (older) page, when there is one. */
  older: string | null,
): Html {
  return layout(
    "Search",
    html`<form method="get" action="/review/search">
${field("tenant", "tenant", filter.tenant)}${select("status", ["completed", "refused", "failed"], filter.status)}
${select("action", ["allow", "review", "block"], filter.action)}${field("category", "category", filter.category)}
${field("from", "from", filter.from, "date")}${field("to", "to", filter.to, "date")}
${field("q", "prompt contains", filter.q)}${field("id", "generation id", filter.id)}
${field("sha256", "image SHA-256", filter.sha256)}${field("end_user", "end user", filter.end_user)}
${select("kind", ["generate", "edit", "variation"], filter.kind)}${select("review", ["approve", "uphold", "none"], filter.review)}
<label><input type="checkbox" name="flagged" value="1"${filter.flagged ? raw(" checked") : ""}> flagged only (review or block)</label>
<button>Search</button></form>
<p>Export this search: <a href="/review/export.csv?${query}">CSV</a> · <a href="/review/export.jsonl?${query}">JSON lines</a>
${older ? html` · <a href="/review/search?${older}">older rows →</a>` : ""}</p>
${rowsTable(rows)}`,
    who,
  );
}

const KIND_LABELS: Record<string, string> = {
  generate: "generation from a prompt",
  edit: "edit of uploaded images (prompt and input screened)",
  variation: "variation of an uploaded image (no prompt: the input screen decides)",
};

/** One uploaded input of an edit or variation, as the audit row keeps it (never its bytes). */
interface InputView {
  sha256?: string;
  media_type?: string;
  width?: number;
  height?: number;
  sexual?: number | null;
  faces?: number | null;
  pdq?: { hash?: string } | null;
  hashListMatches?: Array<{ list?: string; label?: string; distance?: number }>;
}

/**
 * The inputs of an edit or variation and what their screen found, from the audit row: the
 * reviewer of a held edit (an input photo with a face, by default) sees why it was held.
 */
function inputPanel(decision: unknown): Html | string {
  const inputs = (decision as { input?: unknown } | null)?.input;
  if (!Array.isArray(inputs) || inputs.length === 0) return "";
  const num = (v: number | null | undefined, digits = 3) =>
    typeof v === "number" ? v.toFixed(digits) : "—";
  return html`<h2>Input images</h2><table><thead><tr><th>#</th><th>SHA-256</th><th>Size</th><th>Sexual</th><th>Faces</th><th>Hash lists</th><th>PDQ</th></tr></thead><tbody>${(
    inputs as InputView[]
  ).map(
    (
      i,
      n,
    ) => html`<tr><td>${n}</td><td><code>${i.sha256 ?? "—"}</code></td><td>${i.width ?? "?"}×${i.height ?? "?"} ${i.media_type ?? ""}</td>
<td>${num(i.sexual)}</td><td>${i.faces ?? "—"}</td><td>${(i.hashListMatches ?? []).map((m) => html`<code>${m.list}:${m.label} (${m.distance})</code> `)}</td><td><code>${i.pdq?.hash ?? "—"}</code></td></tr>`,
  )}</tbody></table>`;
}

export function itemPage(
  who: Reviewer,
  item: Item,
  error?: string,
  /** Live C2PA validation of a held request's kept images; null when there are no bytes. */
  live: LiveValidation[] | null = null,
): Html {
  const d = (item.decision ?? {}) as { policy?: { id?: string; hash?: string } };
  const { fired, list } = categoriesOf(item.decision);
  const stages = Array.isArray(item.stages)
    ? (item.stages as Array<{ name?: string; status?: string; ms?: number; note?: string }>)
    : [];
  const held = item.status === "refused" && (item.action === "review" || item.action === "block");
  return layout(
    `Request ${item.id}`,
    html`${error ? html`<p class="error">${error}</p>` : ""}
<table><tbody>
<tr><th>Tenant</th><td>${item.tenant}</td></tr><tr><th>End user</th><td>${item.endUser ?? "—"}</td></tr>
<tr><th>Time (UTC)</th><td>${item.createdAt.toISOString()}</td></tr>
<tr><th>Request</th><td>${KIND_LABELS[item.kind] ?? item.kind}</td></tr>
<tr><th>Status / action</th><td>${item.status} / ${item.action}${item.errorCode ? html` (${item.errorCode})` : ""}</td></tr>
<tr><th>Model / backend</th><td>${item.model} / ${item.backend}</td></tr>
<tr><th>Policy</th><td>${d.policy?.id ?? "—"} <code class="muted">${d.policy?.hash ?? ""}</code></td></tr>
<tr><th>Log index</th><td>${item.logIndex ?? "—"}</td></tr>
<tr><th>Prompt (${item.promptRetention})</th><td>${promptCell(item)}</td></tr>
</tbody></table>
<h2>Decision</h2><p>Fired: ${fired.length ? html`<span class="fired">${fired.join(", ")}</span>` : "none"}</p>
<table><thead><tr><th>Category</th><th>Score</th><th>Review at</th><th>Block at</th><th>Action</th><th>Matched</th></tr></thead><tbody>
${list.map(
  (
    c,
  ) => html`<tr class="${fired.includes(c.name) ? "fired" : ""}"><td>${c.name}</td><td>${c.score.toFixed(3)}</td>
<td>${c.review}</td><td>${c.block}</td><td>${c.action}</td><td>${c.spans.map((s) => html`<code>${s.term ?? ""}</code> `)}</td></tr>`,
)}</tbody></table>
${inputPanel(item.decision)}
${provenancePanel(item, live)}
<h2>Stages</h2><table><tbody>${stages.map(
      (s) =>
        html`<tr><td>${s.name}</td><td>${s.status}</td><td>${s.ms ?? ""} ms</td><td class="muted">${s.note ?? ""}</td></tr>`,
    )}</tbody></table>
<h2>Images</h2>${
      item.images.length === 0
        ? html`<p class="muted">No image was produced.</p>`
        : html`<table><thead><tr><th>#</th><th>SHA-256</th><th>Size</th><th>C2PA</th><th>Watermark</th><th>PDQ</th><th>Marks</th></tr></thead><tbody>${item.images.map(
            (
              i,
            ) => html`<tr><td>${i.index}</td><td><code>${i.sha256}</code></td><td>${i.width}×${i.height} ${i.mediaType}</td>
<td>${i.c2paLabel ?? "—"}</td><td><code>${i.watermarkMarkId ?? "—"}</code></td><td><code>${i.pdqHash ?? "—"}</code></td>
<td><code>${JSON.stringify(i.marks)}</code></td></tr>`,
          )}</tbody></table>`
    }
<h2>Review</h2>${
      item.review
        ? html`<p><strong>${item.review.decision === "uphold" ? "rejected (upheld)" : "approved"}</strong> at ${item.review.createdAt.toISOString()} (log index ${item.review.logIndex})</p>
<div class="prompt">${item.review.note}</div>`
        : held
          ? who.csrfToken
            ? html`<form method="post" action="/review/g/${item.id}/decide">
<input type="hidden" name="csrf" value="${who.csrfToken}">
<label><input type="radio" name="decision" value="approve" required> approve${item.action === "review" ? " (release the held images)" : " (a false positive: nothing is released)"}</label>
<label><input type="radio" name="decision" value="uphold"> reject (keep refused${item.action === "review" ? ", discard the held images" : ""})</label>
<p><label>Reason (required, audited)<br><textarea name="note" rows="3" cols="60" maxlength="2000" required></textarea></label></p>
<button>Record decision</button></form>`
            : html`<p class="muted">Log in through the form to decide.</p>`
          : html`<p class="muted">Not held or blocked: nothing to decide.</p>`
    }`,
    who,
  );
}

/** A chart without scripts: one row per day, one bar per fired category (width ∝ count). */
export function statsPage(
  who: Reviewer,
  days: number,
  stats: { fired: Map<string, Map<string, number>>; reviews: Map<string, Map<string, number>> },
): Html {
  const dayList = [...new Set([...stats.fired.keys(), ...stats.reviews.keys()])].sort().reverse();
  const max = Math.max(1, ...[...stats.fired.values()].flatMap((m) => [...m.values()]));
  const categories = [...new Set([...stats.fired.values()].flatMap((m) => [...m.keys()]))].sort();
  const hue = (c: string) => (categories.indexOf(c) * 137) % 360;
  return layout(
    `Flagged requests per day (last ${days} days)`,
    html`<form method="get" action="/review/stats"><label>days <input type="number" name="days" min="1" max="366" value="${days}"></label><button>Show</button></form>
<p>${categories.map(
      (c) =>
        html`<span style="display:inline-block;width:10px;height:10px;background:hsl(${hue(c)},60%,50%)"></span> ${c} `,
    )}</p>
${
  dayList.length === 0
    ? html`<p class="muted">Nothing flagged or reviewed in this period.</p>`
    : html`<table><thead><tr><th>Day (UTC)</th><th>Fired categories</th><th>Reviews</th></tr></thead><tbody>${dayList.map(
        (d) =>
          html`<tr><td>${d}</td><td>${[...(stats.fired.get(d) ?? new Map<string, number>())].map(
            ([c, n]) =>
              html`<div title="${c}: ${n}"><span style="display:inline-block;height:10px;width:${Math.max(2, Math.round((n / max) * 300))}px;background:hsl(${hue(c)},60%,50%)"></span> ${c} ${n}</div>`,
          )}</td><td>${[...(stats.reviews.get(d) ?? new Map<string, number>())].map(
            ([k, n]) => html`<div>${k} ${n}</div>`,
          )}</td></tr>`,
      )}</tbody></table>`
}`,
    who,
  );
}

/** The licence audit recorded with the generation (params.licence), defensively read. */
function licenceOf(params: unknown): Html {
  const l = ((params ?? {}) as { licence?: unknown }).licence as
    | {
        known?: boolean;
        reference?: { id?: string };
        statement?: { name?: string };
        checked_as?: string;
        verdict?: { allowed?: boolean; reasons?: unknown[] } | null;
      }
    | undefined;
  if (!l || typeof l !== "object") return html`<span class="muted">not recorded</span>`;
  const v = l.verdict;
  return html`${l.statement?.name ?? l.reference?.id ?? "unknown licence"}${l.known === false ? " (not in the registry)" : ""}
checked as <code>${l.checked_as ?? "—"}</code>: ${
    v
      ? v.allowed
        ? html`<strong>allowed</strong>`
        : html`<strong class="fired">not allowed</strong>`
      : "no verdict"
  }${Array.isArray(v?.reasons) && v.reasons.length ? html` <span class="muted">${v.reasons.map(String).join("; ")}</span>` : ""}`;
}

/** Provenance of the item: marks and credentials of each image, the rules, the licence verdict. */
function provenancePanel(item: Item, live: LiveValidation[] | null): Html {
  const d = (item.decision ?? {}) as { rules?: unknown };
  const rules = Array.isArray(d.rules)
    ? (d.rules as Array<{ rule?: string; category?: string; effect?: string }>)
    : [];
  return html`<section class="panel"><h2>Provenance</h2><table><tbody>
<tr><th>Rules fired</th><td>${rules.length ? rules.map((r) => html`<div><code>${r.rule ?? ""}</code> ${r.category ?? ""}: ${r.effect ?? ""}</div>`) : html`<span class="muted">none</span>`}</td></tr>
<tr><th>Licence verdict</th><td>${licenceOf(item.params)}</td></tr>
${item.images.map((i) => {
  const wm = (
    Array.isArray(i.marks)
      ? (i.marks as Array<{ kind?: string; applied?: boolean; reason?: string }>)
      : []
  ).find((m) => m.kind === "watermark");
  return html`<tr><th>Image ${i.index}</th><td>
<div>C2PA: ${i.c2paLabel ? html`signed, manifest <code>${i.c2paLabel}</code>${i.c2paManifestBytes ? ` (${i.c2paManifestBytes} bytes stored)` : ""}` : html`<span class="fired">not signed</span>`}</div>
<div>Watermark: ${i.watermarkMarkId ? html`mark id <code>${i.watermarkMarkId}</code>` : html`<span class="muted">${wm?.reason ?? "not applied"}</span>`}</div>
${liveLine(
  live?.find((v) => v.index === i.index),
  live !== null,
)}</td></tr>`;
})}
</tbody></table></section>`;
}

/** The admin's page: the accounts, a form to create one, disable / enable buttons. */
export function reviewersPage(
  who: Reviewer,
  list: ReviewerInfo[],
  notice: {
    created?: { username: string; password: string | null };
    reset?: { username: string; password: string };
    error?: string;
  } = {},
): Html {
  const csrf = html`<input type="hidden" name="csrf" value="${who.csrfToken}">`;
  return layout(
    "Reviewers",
    html`${notice.error ? html`<p class="error" role="alert">${notice.error}</p>` : ""}${
      notice.created
        ? html`<p class="created">Created <strong>${notice.created.username}</strong>.${
            notice.created.password
              ? html` Password (shown once): <code id="new-password">${notice.created.password}</code>`
              : ""
          }</p>`
        : ""
    }${
      notice.reset
        ? html`<p class="created">New password for <strong>${notice.reset.username}</strong> (shown once; their sessions were ended): <code id="new-password">${notice.reset.password}</code></p>`
        : ""
    }
<table><thead><tr><th>Username</th><th>Role</th><th>Tenants</th><th>Created</th><th>Last login</th><th>State</th><th></th></tr></thead><tbody>${list.map(
      (r) => html`<tr><td>${r.username}</td><td>${r.role}</td><td>${
        r.role === "admin"
          ? html`<span class="muted">every tenant</span>`
          : who.csrfToken
            ? html`<form class="inline" method="post" action="/review/admin/reviewers/${r.username}/tenants">${csrf}<input name="tenants" value="${r.tenants?.join(", ") ?? ""}" placeholder="every tenant" maxlength="2000"><button>set</button></form>`
            : (r.tenants?.join(", ") ?? "every tenant")
      }</td><td>${r.createdAt.toISOString()}</td>
<td>${r.lastLoginAt?.toISOString() ?? "—"}</td><td>${r.disabledAt ? "disabled" : "active"}</td>
<td>${
        who.csrfToken && r.username !== who.username
          ? html`<form class="inline" method="post" action="/review/admin/reviewers/${r.username}/${r.disabledAt ? "enable" : "disable"}">${csrf}<button>${r.disabledAt ? "enable" : "disable"}</button></form>
<form class="inline" method="post" action="/review/admin/reviewers/${r.username}/reset-password">${csrf}<button>reset password</button></form>`
          : ""
      }</td></tr>`,
    )}</tbody></table>
<h2>New account</h2>${
      who.csrfToken
        ? html`<form method="post" action="/review/admin/reviewers">${csrf}
<label>username <input name="username" required maxlength="64"></label>
<label>role <select name="role"><option>reviewer</option><option>admin</option></select></label>
<label>tenants <input name="tenants" maxlength="2000" placeholder="every tenant" title="Comma-separated tenant names a reviewer sees; empty: every tenant"></label>
<label>password <input type="password" name="password" autocomplete="new-password" placeholder="empty: generate one"></label>
<button>Create</button></form>`
        : ""
    }`,
    who,
  );
}

/** The reviewer's own account: the password change form. */
export function accountPage(
  who: Reviewer,
  notice: { error?: string; changed?: boolean } = {},
): Html {
  if (!who.username || !who.csrfToken)
    return layout(
      "Account",
      html`<p>This session was opened with an API key (${who.prefix}…); keys have no password. Revoke or rotate the key with <code>hallmark key</code>.</p>`,
      who,
    );
  return layout(
    "Account",
    html`${notice.error ? html`<p class="error" role="alert">${notice.error}</p>` : ""}${
      notice.changed
        ? html`<p class="created" role="status">Password changed. Your other sessions were ended.</p>`
        : ""
    }
<p>${who.username} (${who.role})</p>
<h2>Change password</h2>
<form method="post" action="/review/account/password">
<input type="hidden" name="csrf" value="${who.csrfToken}">
<input type="hidden" name="username" value="${who.username}" autocomplete="username">
<p><label>Current password <input type="password" name="current" autocomplete="current-password" required maxlength="256"></label></p>
<p><label>New password <input type="password" name="password" autocomplete="new-password" required minlength="12" maxlength="256"></label></p>
<p><label>New password again <input type="password" name="confirm" autocomplete="new-password" required minlength="12" maxlength="256"></label></p>
<button>Change password</button></form>`,
    who,
  );
}

function liveLine(v: LiveValidation | undefined, kept: boolean): Html {
  if (!v)
    return html`<div class="muted">Live C2PA validation: ${
      kept ? "this image is not kept" : "no kept bytes (only held requests keep them)"
    }; <code>POST /v1/provenance/verify</code> validates a copy.</div>`;
  const good = v.state === "Trusted" || v.state === "Valid";
  return html`<div>Live C2PA validation of the kept bytes: <strong class="${good ? "" : "fired"}">${v.state ?? "no manifest found"}</strong>${
    v.signer ? html` <span class="muted">signer ${v.signer}</span>` : ""
  }${v.failures.length ? html` <code class="fired">${v.failures.join(" ")}</code>` : ""}</div>`;
}
