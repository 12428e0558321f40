import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";

/** A readiness check: a name and a function that rejects when that dependency is not ready. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
  /**
   * Whether a failure makes the replica not ready (default true). A dependency that every
   * replica shares and whose absence the API already answers per request (the generation
   * backends: 503 `backend_unavailable`) is reported but not critical: taking every replica out
   * of the load balancer would also stop verification, moderation and the review workspace.
   */
  critical?: boolean;
}

/** How long one check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 3000;

/**
 * `GET /healthz`: the process is up. `GET /readyz`: every critical dependency answers
 * (database, models): 200 `ready`, with `degraded: true` when a non-critical one does not
 * (a backend); 503 `not_ready` with the failing checks otherwise, so a load balancer stops
 * sending traffic.
 */
export function registerHealth(app: OpenAPIHono<AppEnv>, checks: ReadinessCheck[]): void {
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const results = await Promise.all(
      checks.map(async ({ name, check, critical = true }) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error("timeout")), CHECK_TIMEOUT_MS);
              timer.unref();
            }),
          ]);
          return { name, ok: true, ...(critical ? {} : { critical }) };
        } catch {
          return { name, ok: false, ...(critical ? {} : { critical }) };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const ok = results.every((r) => r.ok || r.critical === false);
    const degraded = results.some((r) => !r.ok && r.critical === false);
    return c.json(
      { status: ok ? "ready" : "not_ready", ...(degraded ? { degraded } : {}), checks: results },
      ok ? 200 : 503,
    );
  });
}
