import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context.js";

/** The swagger-ui-dist files served under /docs, by the name they are served as. */
const ASSETS: Record<string, { file: string; type: string }> = {
  "swagger-ui.css": { file: "swagger-ui.css", type: "text/css; charset=utf-8" },
  "swagger-ui-bundle.js": {
    file: "swagger-ui-bundle.js",
    type: "text/javascript; charset=utf-8",
  },
  "favicon.png": { file: "favicon-32x32.png", type: "image/png" },
};

/** The page's own start-up script: an external file, so the CSP needs no inline script. */
const INIT_JS = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#reference",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
`;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Hallmark API reference</title>
<link rel="icon" href="/docs/favicon.png">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head><body><div id="reference"></div>
<noscript>The reference needs JavaScript; the document itself is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body></html>
`;

/** Scripts, styles and the OpenAPI document come from this origin only; nothing from a CDN. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

/**
 * `GET /docs`: an API reference page for /openapi.json, drawn by Swagger UI from the
 * `swagger-ui-dist` npm package and served by the gateway itself (no CDN, works offline).
 * Not part of the OpenAPI document.
 */
export function registerReference(app: OpenAPIHono<AppEnv>): void {
  const dist = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const cache = new Map<string, Promise<Buffer>>();
  const headers = { "content-security-policy": CSP, "cache-control": "no-cache" };

  app.get("/docs", (c) => c.html(PAGE, 200, headers));
  app.get("/docs/init.js", (c) =>
    c.body(INIT_JS, 200, { ...headers, "content-type": "text/javascript; charset=utf-8" }),
  );
  app.get("/docs/:asset{[a-z0-9.-]+}", async (c) => {
    const name = c.req.param("asset");
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) return c.notFound();
    let bytes = cache.get(name);
    if (!bytes) {
      bytes = readFile(path.join(dist, asset.file));
      cache.set(name, bytes);
    }
    return c.body(new Uint8Array(await bytes), 200, {
      "content-type": asset.type,
      "cache-control": "public, max-age=86400",
      "content-security-policy": CSP,
    });
  });
}
