import { mkdtempSync, readFileSync } from "node:fs";
import { startChild, startFakeUpstream } from "../bench/support/processes.js";
async function startGateway(env: Record<string, string>) {
  const dataDir = mkdtempSync("/tmp/hm-prof-");
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const { child } = await startChild(
    ["--cpu-prof", "--cpu-prof-dir=/tmp/gwprof", "bin/hallmark.js", "serve"],
    { HALLMARK_DATA_DIR: dataDir, HALLMARK_PORT: port, HALLMARK_LOG_LEVEL: "info", ...env },
    /"listening"/,
  );
  const key = readFileSync(`${dataDir}/bootstrap-key`, "utf8").trim();
  return { child, url: `http://127.0.0.1:${port}`, key };
}
const upstream = await startFakeUpstream(50);
const profDir = "/tmp/gwprof"; 
const gateway = await startGateway({
  HALLMARK_BACKEND: "automatic1111",
  HALLMARK_A1111_URL: upstream.url,
  HALLMARK_RATE_LIMIT_RPS: "0",
  ...(process.env.EXTRA ? JSON.parse(process.env.EXTRA) : {}),
});
const n = Number(process.argv[2] ?? 40);
const walls: number[] = [];
for (let i = 0; i < n; i++) {
  const t = performance.now();
  const res = await fetch(`${gateway.url}/v1/images/generations`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${gateway.key}` },
    body: JSON.stringify({ prompt: "a lighthouse at dusk", size: "512x512", seed: i }),
  });
  await res.arrayBuffer();
  walls.push(performance.now() - t);
  if (i === n - 1) console.log(res.headers.get("server-timing"));
}
walls.sort((a, b) => a - b);
console.log("wall p50", walls[Math.floor(n / 2)]);
gateway.child.kill("SIGTERM");
upstream.child.kill("SIGTERM");
await new Promise((r) => gateway.child.once("exit", r));
