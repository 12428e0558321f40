/**
 * Upstream fault run (issue 9, item 8): load through one gateway while its AUTOMATIC1111
 * backend is healthy, then answers 500, then hangs, then is healthy again. Expected: 502
 * (backend_error) while it fails until the circuit breaker opens, then fast 503
 * (backend_unavailable, Retry-After) while open; 504 (backend_timeout) while it hangs; 200s
 * again once the breaker's cool-down lets a trial request through. Prints one row per phase
 * with the answers by status, median latency and the breaker states seen on /metrics.
 *
 *   npx tsx bench/load-upstream-faults.ts [--phase 8] [--connections 4] [--timeout-ms 1500]
 *                                         [--cooldown-ms 3000] [--failures 5]
 */
import { parseArgs } from "node:util";
import { startGateway } from "./support/processes.js";
import { startSwitchableUpstream, type UpstreamMode } from "./support/switchable-upstream.js";

const { values } = parseArgs({
  options: {
    phase: { type: "string", default: "8" },
    connections: { type: "string", default: "4" },
    "timeout-ms": { type: "string", default: "1500" },
    "cooldown-ms": { type: "string", default: "3000" },
    failures: { type: "string", default: "5" },
  },
});
const phaseMs = Number(values.phase) * 1000;

const upstream = await startSwitchableUpstream(50);
const gateway = await startGateway({
  HALLMARK_BACKEND: "automatic1111",
  HALLMARK_A1111_URL: upstream.url,
  HALLMARK_BACKEND_TIMEOUT_MS: values["timeout-ms"]!,
  HALLMARK_BREAKER_COOLDOWN_MS: values["cooldown-ms"]!,
  HALLMARK_BREAKER_FAILURES: values.failures!,
  HALLMARK_BACKEND_RETRIES: "1",
  HALLMARK_RATE_LIMIT_RPS: "0",
});

interface Sample {
  phase: string;
  status: number;
  ms: number;
  retryAfter: string | null;
}
const samples: Sample[] = [];
const breakerSeen = new Map<string, Set<string>>();
let phase = "";

async function breakerState(): Promise<string> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith("hallmark_backend_circuit_state{") && l.endsWith(" 1"));
  return /state="([a-z_-]+)"/.exec(line ?? "")?.[1] ?? "unknown";
}

let running = true;
const worker = async () => {
  while (running) {
    const current = phase;
    const t = performance.now();
    let status = 0;
    let retryAfter: string | null = null;
    try {
      const res = await fetch(`${gateway.url}/v1/images/generations`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${gateway.key}` },
        body: JSON.stringify({ prompt: "a lighthouse at dusk", size: "512x512" }),
        signal: AbortSignal.timeout(30_000),
      });
      status = res.status;
      retryAfter = res.headers.get("retry-after");
      await res.arrayBuffer();
    } catch {
      status = 0;
    }
    samples.push({ phase: current, status, ms: performance.now() - t, retryAfter });
  }
};
const watcher = async () => {
  while (running) {
    const state = await breakerState().catch(() => "unreadable");
    if (!breakerSeen.has(phase)) breakerSeen.set(phase, new Set());
    breakerSeen.get(phase)!.add(state);
    await new Promise((r) => setTimeout(r, 200));
  }
};

const phases: Array<[string, UpstreamMode]> = [
  ["1 healthy", "ok"],
  ["2 upstream answers 500", "fail"],
  ["3 upstream hangs", "hang"],
  ["4 healthy again", "ok"],
];
try {
  phase = phases[0]![0];
  const load = Promise.all([
    ...Array.from({ length: Number(values.connections) }, worker),
    watcher(),
  ]);
  for (const [name, mode] of phases) {
    phase = name;
    upstream.setMode(mode);
    await new Promise((r) => setTimeout(r, phaseMs));
  }
  running = false;
  await load;

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  console.log(
    `\nUpstream faults: ${values.connections} connections, ${values.phase} s per phase, backend timeout ${values["timeout-ms"]} ms, breaker opens after ${values.failures} failures, cool-down ${values["cooldown-ms"]} ms\n`,
  );
  console.table(
    phases.map(([name]) => {
      const list = samples.filter((s) => s.phase === name);
      const by = (code: number) => list.filter((s) => s.status === code);
      return {
        phase: name,
        requests: list.length,
        // Keys that look like integers would be listed first: name the codes.
        "ok 200": by(200).length,
        "backend_error 502": by(502).length,
        "unavailable 503": by(503).length,
        "backend_timeout 504": by(504).length,
        other: list.filter((s) => ![200, 502, 503, 504].includes(s.status)).length,
        "503 with Retry-After": by(503).filter((s) => s.retryAfter !== null).length,
        "p50 ms": Math.round(median(list.map((s) => s.ms))),
        "breaker states seen": [...(breakerSeen.get(name) ?? [])].join(", "),
      };
    }),
  );
  const last = samples.filter((s) => s.phase === phases[3]![0]).slice(-5);
  console.log(
    `last answers of the run: ${last.map((s) => s.status).join(", ")} (breaker now ${await breakerState()})`,
  );
} finally {
  gateway.child.kill("SIGTERM");
  await upstream.close();
}
