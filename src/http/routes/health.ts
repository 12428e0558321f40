import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";

/** A readiness check: a name and a function that rejects when that dependency is not ready. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/**
 * `GET /healthz`: the process is up. `GET /readyz`: every dependency answers (database, models);
 * 503 with the failing checks otherwise, so a load balancer stops sending traffic.
 */
export function registerHealth(app: OpenAPIHono<AppEnv>, checks: ReadinessCheck[]): void {
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) =>
              setTimeout(() => reject(new Error("timeout")), 3000).unref(),
            ),
          ]);
          return { name, ok: true };
        } catch {
          return { name, ok: false };
        }
      }),
    );
    const ok = results.every((r) => r.ok);
    return c.json({ status: ok ? "ready" : "not_ready", checks: results }, ok ? 200 : 503);
  });
}
