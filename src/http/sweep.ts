/**
 * Test support: the security sweep. Every route the app registers (found from the app itself,
 * so new routes are swept without editing this file) gets generated requests: hostile path
 * parameters, query strings, headers (keys of other tenants, revoked keys, junk), and bodies
 * (route-shaped JSON, arbitrary JSON, raw bytes, images, multipart). The answer must never be a
 * 5xx nor a hang. Used by `npm run sweep` (bench/fuzz-sweep.ts, 10,000 per route) and by
 * src/http/sweep.test.ts (a few dozen per route in CI).
 */
import fc from "fast-check";
import type { Hono } from "hono";
import { createApiKey, revokeApiKey } from "../tenants/index.js";

export interface SweepTarget {
  /** The app under test (the gateway's Hono app, requested in-process). */
  app: Pick<Hono, "request" | "routes">;
  /** Keys to send: a valid key of the tenant, another tenant's, a revoked one, a review key. */
  keys: { own: string; other: string; revoked: string; review?: string; admin?: string };
  /** Ids that exist (e.g. another tenant's generation id), tried as path parameters. */
  ids: string[];
  /** A small valid image, sent to the routes that take images. */
  image: Buffer;
}

export interface SweepRow {
  route: string;
  requests: number;
  "2xx": number;
  "3xx": number;
  "4xx": number;
  "5xx": number;
  /** Requests that got no answer within the per-request limit. */
  hung: number;
  /** Requests the client side could not even build (not sent; not counted above). */
  unsendable: number;
  /** A few of the requests that got a 5xx or hung, to reproduce them. */
  failures: string[];
}

interface RouteSpec {
  method: string;
  path: string;
}

/** The routes to sweep: every registered method + path, without middleware (`ALL`). */
export function sweepRoutes(app: Pick<Hono, "routes">): RouteSpec[] {
  const seen = new Set<string>();
  const routes: RouteSpec[] = [];
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    routes.push({ method: r.method, path: r.path });
  }
  return routes;
}

const printable = fc.string({ unit: "grapheme-ascii", maxLength: 40 });
const hostile = fc.constantFrom(
  "",
  "0",
  "-1",
  "1e309",
  "NaN",
  "99999999999999999999999",
  "../../etc/passwd",
  "%00",
  "' OR 1=1 --",
  "<script>alert(1)</script>",
  "a".repeat(5000),
  "00000000-0000-0000-0000-000000000000",
  "\u0000",
  "😀",
  "\uD800",
);
const anyText = fc.oneof(printable, hostile, fc.string({ unit: "binary", maxLength: 60 }));

const QUERY_KEYS = [
  "index",
  "size",
  "first",
  "second",
  "start",
  "end",
  "q",
  "tenant",
  "status",
  "action",
  "category",
  "from",
  "to",
  "flagged",
  "before",
  "cursor",
  "limit",
  "day",
  "format",
  "id",
];

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "image/png",
  "image/jpeg",
  "application/octet-stream",
  "multipart/form-data; boundary=sweep",
  "multipart/form-data",
  "application/x-www-form-urlencoded",
  "text/plain",
  "",
];

function shapedJson(ids: string[]) {
  return fc.record(
    {
      prompt: fc.oneof(anyText, fc.constant("a lighthouse at dusk"), fc.integer()),
      negative_prompt: anyText,
      n: fc.oneof(fc.integer({ min: -2, max: 20 }), fc.double(), printable),
      size: fc.oneof(fc.constantFrom("256x256", "512x512", "0x0", "99999x99999"), printable),
      seed: fc.oneof(fc.integer(), fc.double(), fc.bigInt().map(String)),
      output_format: fc.oneof(fc.constantFrom("png", "jpeg", "webp", "gif"), printable),
      output_compression: fc.oneof(fc.integer({ min: -5, max: 200 }), printable),
      response_format: fc.oneof(fc.constantFrom("b64_json", "url"), printable),
      model: anyText,
      user: anyText,
      input: fc.oneof(anyText, fc.array(anyText, { maxLength: 70 }), fc.integer()),
      image: fc.oneof(printable, fc.constant("iVBORw0KGgo=")),
      generation_id: fc.oneof(fc.constantFrom(...ids, "x"), printable),
      webhook_url: fc.oneof(
        fc.constantFrom("http://127.0.0.1:1/", "http://169.254.169.254/", "https://example.com/h"),
        printable,
      ),
      async: fc.oneof(fc.boolean(), printable),
      policy: fc.anything({ maxDepth: 2 }),
      settings: fc.anything({ maxDepth: 2 }),
      extra: fc.anything({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  );
}

/** Bodies the route would accept or nearly: valid fields with hostile values, no unknown keys. */
function nearValidJson(kind: RouteKind) {
  const generation = fc.record(
    {
      prompt: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom("a lighthouse at dusk", "a watercolour fox") },
        { weight: 1, arbitrary: fc.constantFrom("n.u.d.e photo", "explicit porn") },
        { weight: 1, arbitrary: anyText },
      ),
      size: fc.oneof(
        { weight: 4, arbitrary: fc.constant("256x256") },
        fc.constantFrom("0x0", "256x256 ", "1024x1024"),
      ),
      n: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, fc.integer({ min: 0, max: 5 })),
      seed: fc.oneof(fc.nat(), fc.integer()),
      output_format: fc.constantFrom("png", "jpeg", "webp"),
      output_compression: fc.integer({ min: -1, max: 101 }),
      negative_prompt: printable,
      user: printable,
    },
    { requiredKeys: ["prompt"] },
  );
  const moderation = fc.record({
    input: fc.oneof(anyText, fc.array(anyText, { minLength: 1, maxLength: 5 })),
  });
  const body = kind === "moderation" ? moderation : generation;
  return body.map((j) => JSON.stringify(j));
}

type RouteKind = "generation" | "moderation" | "verify" | "other";

function kindOf(route: RouteSpec): RouteKind {
  if (route.path.includes("/moderations")) return "moderation";
  if (route.path.includes("/verify")) return "verify";
  if (route.path.startsWith("/v1/images/")) return "generation";
  return "other";
}

function multipart(image: Buffer) {
  return fc
    .record({
      field: fc.constantFrom("file", "image", "image[]", "mask", "prompt", "x"),
      filename: fc.oneof(fc.constant("a.png"), printable),
      type: fc.constantFrom("image/png", "application/octet-stream", "text/plain"),
      content: fc.oneof(
        fc.constant(image),
        fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
      ),
      prompt: anyText,
    })
    .map(({ field, filename, type, content, prompt }) => {
      const b = "sweep";
      const head = `--${b}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`;
      const tail = `\r\n--${b}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n${prompt}\r\n--${b}--\r\n`;
      return Buffer.concat([Buffer.from(head), content, Buffer.from(tail)]);
    });
}

/** One generated request for `route`. */
function requestFor(route: RouteSpec, target: SweepTarget) {
  const { keys, ids, image } = target;
  const param = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        ...ids,
        "acme",
        "other",
        "default",
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "favicon.png",
      ),
    },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 3, arbitrary: anyText },
  );
  const kind = kindOf(route);
  const params = route.path.match(/:[A-Za-z_]+(\{[^}]*\})?\??/g) ?? [];
  const body = fc.oneof(
    { weight: kind === "other" ? 2 : 8, arbitrary: nearValidJson(kind) },
    { weight: 2, arbitrary: shapedJson(ids).map((j) => JSON.stringify(j)) },
    { weight: 1, arbitrary: fc.anything().map((v) => JSON.stringify(v) ?? "null") },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)) },
    { weight: kind === "verify" ? 8 : 1, arbitrary: fc.constant(image) },
    { weight: 1, arbitrary: multipart(image) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  const auth = fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${keys.own}`) },
    fc.constantFrom(
      `Bearer ${keys.own}`,
      `Bearer ${keys.other}`,
      `Bearer ${keys.revoked}`,
      ...(keys.review ? [`Bearer ${keys.review}`] : []),
      ...(keys.admin ? [`Bearer ${keys.admin}`] : []),
      "Bearer ",
      "Basic Zm9vOmJhcg==",
    ),
    printable.map((s) => `Bearer ${s}`),
    fc.constant(undefined),
  );
  return fc.record({
    method: fc.oneof(
      { weight: 9, arbitrary: fc.constant(route.method) },
      { weight: 1, arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD") },
    ),
    params: fc.tuple(...params.map(() => param)),
    query: fc.dictionary(
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...QUERY_KEYS) }, printable),
      fc.oneof(fc.nat(20).map(String), anyText),
      { maxKeys: 4 },
    ),
    contentType: fc.oneof(
      {
        weight: 8,
        arbitrary: fc.constant(kind === "verify" ? "image/png" : "application/json"),
      },
      { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      printable,
    ),
    authorization: auth,
    extraHeaders: fc.dictionary(
      fc.constantFrom(
        "idempotency-key",
        "x-request-id",
        "traceparent",
        "origin",
        "cookie",
        "x-forwarded-proto",
        "accept",
        "content-length",
        "range",
      ),
      printable,
      { maxKeys: 3 },
    ),
    body,
  });
}

type Generated = ReturnType<typeof requestFor> extends fc.Arbitrary<infer T> ? T : never;

function build(route: RouteSpec, g: Generated): { url: string; init: RequestInit } {
  let i = 0;
  const pathname = route.path.replace(/:[A-Za-z_]+(\{[^}]*\})?\??/g, () =>
    encodeURIComponent(String(g.params[i++] ?? "")),
  );
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(g.query)) query.append(k, v);
  const headers = new Headers();
  if (g.contentType) headers.set("content-type", g.contentType);
  if (g.authorization) headers.set("authorization", g.authorization);
  for (const [k, v] of Object.entries(g.extraHeaders)) {
    if (k !== "content-length") headers.set(k, v);
  }
  const hasBody = g.method !== "GET" && g.method !== "HEAD" && g.body !== undefined;
  const qs = query.toString();
  return {
    url: `http://hallmark.test${pathname}${qs ? `?${qs}` : ""}`,
    init: { method: g.method, headers, body: hasBody ? (g.body as BodyInit) : undefined },
  };
}

/**
 * Sends `perRoute` generated requests to every route (a few at a time) and tallies the
 * answers by status class. `seed` makes a run repeatable.
 */
export async function runSweep(
  target: SweepTarget,
  options: {
    perRoute: number;
    seed?: number;
    concurrency?: number;
    timeoutMs?: number;
    /** Called as each route finishes, so a long sweep shows its results as it goes. */
    onRow?: (row: SweepRow, seconds: number) => void;
  },
): Promise<SweepRow[]> {
  const rows: SweepRow[] = [];
  const concurrency = options.concurrency ?? 4;
  const timeoutMs = options.timeoutMs ?? 60_000;
  for (const route of sweepRoutes(target.app)) {
    const row: SweepRow = {
      route: `${route.method} ${route.path}`,
      requests: 0,
      "2xx": 0,
      "3xx": 0,
      "4xx": 0,
      "5xx": 0,
      hung: 0,
      unsendable: 0,
      failures: [],
    };
    const routeStarted = performance.now();
    const samples = fc.sample(requestFor(route, target), {
      numRuns: options.perRoute,
      seed: options.seed,
    });
    let next = 0;
    const worker = async () => {
      while (next < samples.length) {
        const g = samples[next++]!;
        let request: Request;
        try {
          const { url, init } = build(route, g);
          request = new Request(url, init);
        } catch {
          row.unsendable++;
          continue;
        }
        row.requests++;
        let timer: NodeJS.Timeout | undefined;
        const hung = new Promise<"hung">((resolve) => {
          timer = setTimeout(() => resolve("hung"), timeoutMs);
        });
        const answer = await Promise.race([
          Promise.resolve(target.app.request(request)).then(async (res) => {
            await res.arrayBuffer();
            return res.status;
          }),
          hung,
        ]).catch(() => 500);
        clearTimeout(timer);
        if (answer === "hung") row.hung++;
        else if (answer >= 500) row["5xx"]++;
        else if (answer >= 400) row["4xx"]++;
        else if (answer >= 300) row["3xx"]++;
        else row["2xx"]++;
        // Up to five examples of each kind of failure, so a hang does not hide a 5xx.
        const kind = answer === "hung" ? "hung" : answer >= 500 ? String(answer) : null;
        if (kind && row.failures.filter((f) => f.startsWith(`${kind} `)).length < 5) {
          row.failures.push(`${kind} ${describe(route, g)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    rows.push(row);
    options.onRow?.(row, (performance.now() - routeStarted) / 1000);
  }
  return rows;
}

function describe(route: RouteSpec, g: Generated): string {
  const body =
    typeof g.body === "string" ? g.body.slice(0, 200) : g.body ? `<${g.body.length} bytes>` : "";
  return JSON.stringify({
    method: g.method,
    route: route.path,
    params: g.params,
    query: g.query,
    contentType: g.contentType,
    headers: g.extraHeaders,
    body,
  });
}

/** The sweep's table, one route a line, for a terminal. */
export function formatSweep(rows: SweepRow[]): string {
  const head = ["route", "requests", "2xx", "3xx", "4xx", "5xx", "hung"];
  const width = Math.max(5, ...rows.map((r) => r.route.length));
  const line = (cells: Array<string | number>) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(width) : String(c).padStart(8))).join(" ");
  return [
    line(head),
    ...rows.map((r) => line([r.route, r.requests, r["2xx"], r["3xx"], r["4xx"], r["5xx"], r.hung])),
  ].join("\n");
}

/**
 * The keys and ids a sweep needs, made on a started test gateway: a revoked key, a review key,
 * an admin key where that scope exists, and a generation (and its image) of the other tenant.
 */
export async function prepareSweep(gw: {
  runtime: { app: SweepTarget["app"] };
  database: { db: Parameters<typeof createApiKey>[0] };
  key: string;
  otherKey: string;
  request(
    pathname: string,
    init?: RequestInit & { key?: string | null; json?: unknown },
  ): Promise<Response>;
}): Promise<SweepTarget> {
  const db = gw.database.db;
  const revoked = await createApiKey(db, { tenant: "acme", label: "revoked" });
  await revokeApiKey(db, revoked.info.id);
  const review = await createApiKey(db, { tenant: "acme", scopes: ["review"] });
  const res = await gw.request("/v1/images/generations", {
    key: gw.otherKey,
    json: { prompt: "a lighthouse at dusk", size: "256x256" },
  });
  const body = (await res.json()) as {
    data: Array<{ b64_json: string }>;
    hallmark: { generation_id: string };
  };
  let admin: string | undefined;
  try {
    admin = (await createApiKey(db, { tenant: "acme", scopes: ["admin"] })).key;
  } catch {
    // No admin scope in this build: admin routes are swept with the other keys only.
  }
  return {
    app: gw.runtime.app,
    keys: { own: gw.key, other: gw.otherKey, revoked: revoked.key, review: review.key, admin },
    ids: [body.hallmark.generation_id],
    image: Buffer.from(body.data[0]!.b64_json, "base64"),
  };
}
