import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { HallmarkError } from "../../errors/index.js";
import type { Logger } from "../../log/index.js";
import type { Metrics } from "../../metrics/index.js";
import { observeStages, type StageObserver } from "../../pipeline/index.js";
import type { RequestTrace, Tracing } from "../../telemetry/index.js";
import type { AppEnv } from "../context.js";

export interface ObserveDeps {
  logger: Logger;
  metrics?: Metrics;
  tracing?: Tracing;
}

/**
 * Observes every request once it is answered: one log line (request id, tenant id, route
 * template, status, duration, stage timings), the request and stage metrics, and (with tracing)
 * a server span with a child span per pipeline stage.
 *
 * What it logs is chosen, not dumped: the route template and never the raw path or query (a
 * review search may hold prompt text), no headers, no body. Keys and prompts never appear.
 */
export function observeRequests(deps: ObserveDeps): MiddlewareHandler<AppEnv> {
  const { logger, metrics, tracing } = deps;
  return async (c, next) => {
    const started = performance.now();
    const stages: Array<{ name: string; status: string; ms: number }> = [];
    const trace = tracing?.startRequest(c.req.method, traceHeaders(c));
    const observer: StageObserver = {
      recorded(record) {
        stages.push({ name: record.name, status: record.status, ms: record.ms });
        metrics?.stage(record);
        if (tracing && trace && record.name === "record" && record.status === "applied") {
          tracing.timedStage(trace, record.name, record.ms);
        }
      },
    };
    if (tracing && trace) {
      observer.around = (name, fn) => tracing.stage(trace as RequestTrace, name, fn);
    }
    await observeStages(observer, next);

    const status = c.res.status;
    const route = routeTemplate(c);
    const seconds = (performance.now() - started) / 1000;
    const error = c.error instanceof HallmarkError ? c.error : undefined;
    const tenantId = c.get("principal")?.tenantId;
    if (metrics) {
      metrics.request(c.req.method, route, status, seconds);
      await countOutcomes(metrics, c, route, error).catch(() => {});
    }
    if (tracing && trace) {
      tracing.endRequest(trace, {
        method: c.req.method,
        route,
        status,
        requestId: c.get("requestId"),
        tenantId,
      });
    }
    logger.info("request", {
      request_id: c.get("requestId"),
      method: c.req.method,
      route,
      status,
      duration_ms: Math.round(seconds * 100_000) / 100,
      ...(tenantId ? { tenant_id: tenantId } : {}),
      ...(error ? { code: error.code } : {}),
      ...(stages.length > 0 ? { stages } : {}),
    });
  };
}

/**
 * The template of the route that answered (`/v1/generations/:id`), or `unmatched`: a label with
 * a bounded set of values whatever paths clients send. Middleware is registered for every
 * method (`ALL`), so the last route with a real method is the handler.
 */
export function routeTemplate(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i]!;
    if (r.method !== "ALL") return r.path;
  }
  return "unmatched";
}

function traceHeaders(c: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ["traceparent", "tracestate"]) {
    const value = c.req.header(name);
    if (value) headers[name] = value;
  }
  return headers;
}

/**
 * Decisions, marks and verify outcomes, from what the route answered: a refusal's error carries
 * the decision; an image route states what it delivered on the context (`delivered`: its body is
 * megabytes of base64, not read back); a verification's JSON carries the rest. The routes and
 * the pipeline make no metrics calls.
 */
async function countOutcomes(
  metrics: Metrics,
  c: Context<AppEnv>,
  route: string,
  error: HallmarkError | undefined,
): Promise<void> {
  const status = c.res.status;
  // A replayed answer (Idempotency-Key) was counted when it was first produced.
  if (c.res.headers.get("idempotent-replayed") === "true") return;
  if (error?.code === "content_policy_violation") {
    const d = error.details ?? {};
    const categories = Array.isArray(d.categories) ? d.categories.map(String) : [];
    metrics.decision(String(d.action ?? "block"), categories);
    return;
  }
  const json = status === 200 && c.res.headers.get("content-type")?.includes("application/json");
  const delivered = c.get("delivered");
  if (route.startsWith("/v1/images/") && delivered && status === 200) {
    metrics.decision(delivered.action, delivered.categories);
    for (const marks of delivered.marks) metrics.delivered(marks);
  } else if (route === "/v1/provenance/verify") {
    if (status >= 500) {
      metrics.verify("watermark", "error");
      metrics.verify("c2pa", "error");
      return;
    }
    if (!json) return;
    const body = (await c.res.clone().json()) as {
      watermark?: { detected?: boolean; known?: boolean } | null;
      c2pa?: { present?: boolean; validation_state?: string | null } | null;
    };
    const w = body.watermark;
    metrics.verify("watermark", !w ? "absent" : w.detected ? "detected" : "not_detected");
    const p = body.c2pa;
    metrics.verify(
      "c2pa",
      !p
        ? "absent"
        : !p.present
          ? "not_present"
          : String(p.validation_state ?? "unknown").toLowerCase(),
    );
  }
}
