/**
 * `npm run sweep [-- --per-route N --seed S --only /v1/images]`: the security sweep of every
 * route (src/http/sweep.ts) against a started test gateway on an in-memory PGlite, 10,000
 * generated requests per route by default. Prints a table by status class; exits 1 when any
 * request got a 5xx or hung, printing those requests.
 */
import { testDatabases } from "../src/db/test-databases.js";
import { formatSweep, prepareSweep, runSweep } from "../src/http/sweep.js";
import { startTestGateway } from "../src/runtime/test-gateway.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const perRoute = Number(arg("per-route") ?? 10_000);
const seed = Number(arg("seed") ?? Date.now() % 2 ** 31);
const only = arg("only");

const gw = await startTestGateway(testDatabases()[0]!, {
  // Rate limits and quotas would turn most of the sweep into 429s; the sweep is about inputs.
  HALLMARK_RATE_LIMIT_RPS: "100000",
  HALLMARK_RATE_LIMIT_BURST: "100000",
  HALLMARK_QUOTA_IMAGES_PER_DAY: "100000000",
  HALLMARK_QUOTA_IMAGES_PER_MONTH: "100000000",
  // Wrong keys from the one client address would be refused with 429 before any route.
  HALLMARK_AUTH_FAILURES_PER_MINUTE: "0",
});
const target = await prepareSweep(gw);
if (only) {
  const routes = target.app.routes.filter((r) => r.path.startsWith(only));
  target.app = { request: target.app.request.bind(target.app), routes };
}
const started = performance.now();
const rows = await runSweep(target, {
  perRoute,
  seed,
  concurrency: 4,
  onRow: (r, s) =>
    console.error(
      `${r.route}: ${r.requests} requests in ${s.toFixed(0)} s, 2xx ${r["2xx"]}, 4xx ${r["4xx"]}, 5xx ${r["5xx"]}, hung ${r.hung}`,
    ),
});
const seconds = (performance.now() - started) / 1000;
console.log(formatSweep(rows));
const total = rows.reduce((n, r) => n + r.requests, 0);
console.log(
  `\n${rows.length} routes, ${total} requests in ${seconds.toFixed(0)} s (seed ${seed}, ${perRoute} per route)`,
);
const bad = rows.filter((r) => r["5xx"] > 0 || r.hung > 0);
for (const r of bad) for (const f of r.failures) console.log(`FAIL ${f}`);
await gw.close();
process.exit(bad.length > 0 ? 1 : 0);
