import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { COMPACT_MALLOC_TUNABLES, PACKAGE_ROOT } from "../config/index.js";
import { openDatabase } from "../db/index.js";
import { generations } from "../db/schema.js";
import { testDatabases } from "../db/test-databases.js";
import { startFakeAutomatic1111 } from "../generate/fake-automatic1111.js";

/**
 * `hallmark serve` as a real child process, started as `npm start` starts it (bin/hallmark, the
 * launcher that sets glibc's allocator tunables and execs node), its log lines parsed.
 */
function serve(env: Record<string, string>) {
  const child: ChildProcess = spawn(path.join(PACKAGE_ROOT, "bin/hallmark"), ["serve"], {
    cwd: PACKAGE_ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: "pipe",
  });
  const lines: Array<Record<string, unknown>> = [];
  let buffered = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p));
      } catch {
        lines.push({ msg: p });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const listening = (async () => {
    for (;;) {
      const line = lines.find((l) => l.msg === "listening");
      if (line) return line.url as string;
      if (child.exitCode !== null) throw new Error(`serve exited: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { child, lines, exited, listening };
}

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(testDatabases())("hallmark serve stops gracefully on $name", (testDb) => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
  });

  it("SIGTERM mid-request: the request completes 200 with its audit committed, and the process exits 0", async () => {
    const fake = await startFakeAutomatic1111({ latencyMs: 2_000 });
    cleanup.push(() => fake.close());
    const database = testDb.name === "postgres" ? await testDb.open() : null;
    if (database) cleanup.push(() => database.close());
    const dataDir = mkdtempSync(path.join(tmpdir(), "hm-serve-"));
    const proc = serve({
      HALLMARK_HOST: "127.0.0.1",
      HALLMARK_PORT: "0",
      HALLMARK_DATA_DIR: dataDir,
      HALLMARK_BACKEND: "automatic1111",
      HALLMARK_A1111_URL: fake.url,
      HALLMARK_SHUTDOWN_DEADLINE_MS: "30000",
      ...(database?.url ? { DATABASE_URL: database.url } : {}),
    });
    cleanup.push(async () => proc.child.exitCode === null && proc.child.kill("SIGKILL"));
    const url = await proc.listening;
    const key = readFileSync(path.join(dataDir, "bootstrap-key"), "utf8").trim();
    // The start names where the image models run: by default one copy, split over two threads.
    expect(proc.lines.find((l) => l.msg === "runtime ready")).toMatchObject({
      cpu_pool: {
        threads: 2,
        screening_layout: "shared",
        screening_threads: { text: 1, other: 1 },
      },
      // The launcher's allocator settings reached the process (HALLMARK_MALLOC=compact).
      malloc: { setting: "compact", glibc_tunables: COMPACT_MALLOC_TUNABLES },
    });
    // And it can collect what start-up left before the first request (--expose-gc).
    const listening = proc.lines.find((l) => l.msg === "listening")!;
    expect(listening.collected_after_start).toBe(true);
    expect(listening.resident_mb).toBeGreaterThan(0);

    const pending = fetch(`${url}/v1/images/generations`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ prompt: "a lighthouse at dusk", size: "256x256" }),
    });
    await until(() => fake.requests.length === 1, "the upstream to receive the generation");
    proc.child.kill("SIGTERM");
    await until(() => proc.lines.some((l) => l.msg === "stopping"), "the stopping line", 10_000);

    const res = await pending;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { hallmark: { generation_id: string } };
    expect(await proc.exited).toBe(0);
    const stopping = proc.lines.find((l) => l.msg === "stopping")!;
    expect(stopping).toMatchObject({ signal: "SIGTERM", in_flight: 1 });
    expect(proc.lines.find((l) => l.msg === "stopped")).toMatchObject({
      finished: true,
      cancelled: 0,
    });

    // The audit row was committed before the database was closed.
    const check = database ?? (await openDatabase({ dataDir: path.join(dataDir, "pglite") }));
    try {
      const rows = await check.db
        .select({ status: generations.status })
        .from(generations)
        .where(eq(generations.id, body.hallmark.generation_id));
      expect(rows).toEqual([{ status: "completed" }]);
    } finally {
      if (!database) await check.close();
    }
  }, 180_000);
});
