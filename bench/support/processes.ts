import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The command line's launcher, as `npm start` runs it (glibc's allocator tuned, then node). */
const LAUNCHER = path.join(ROOT, "bin/hallmark");

/**
 * Starts a child process and resolves with it and the first stdout line matching `ready`:
 * node with `args`, or, when `args` starts with "bin/hallmark", the launcher with the rest.
 */
export function startChild(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; line: string }> {
  const [command, commandArgs] =
    args[0] === "bin/hallmark" ? [LAUNCHER, args.slice(1)] : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split("\n").find((l) => ready.test(l));
      if (line) {
        child.stdout?.off("data", onData);
        child.stderr?.off("data", onData);
        resolve({ child, line });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) =>
      reject(new Error(`child exited with ${code}: ${buffered.slice(-2000)}`)),
    );
  });
}

export async function startFakeUpstream(latencyMs: number) {
  const { child, line } = await startChild(
    ["--import", "tsx", "bench/support/fake-upstream.ts", String(latencyMs)],
    {},
    /^http:/,
  );
  return { child, url: line.trim() };
}

export async function startGateway(env: Record<string, string>) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "hm-bench-"));
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const { child } = await startChild(
    ["bin/hallmark", "serve"],
    { HALLMARK_DATA_DIR: dataDir, HALLMARK_PORT: port, HALLMARK_LOG_LEVEL: "info", ...env },
    /"listening"/,
  );
  const key = env.DATABASE_URL
    ? ""
    : readFileSync(path.join(dataDir, "bootstrap-key"), "utf8").trim();
  return { child, url: `http://127.0.0.1:${port}`, key, dataDir };
}

/** Runs `hallmark <args>` synchronously with `env` over this process's environment; its stdout. */
export function hallmarkCli(env: Record<string, string>) {
  return (...args: string[]): string =>
    execFileSync(LAUNCHER, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: "utf8",
    });
}
