/**
 * A throwaway PostgreSQL cluster for load and fault runs: its own data folder and port, so that
 * stopping it in the middle of a run disturbs nobody else's database. Uses the server binaries
 * of the machine's PostgreSQL (Debian's /usr/lib/postgresql/<v>/bin); as root, runs them as the
 * `postgres` user, since the server refuses to run as root.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0)
    throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql");
  return path.join(root, versions[0]!, "bin");
}

export interface PgCluster {
  url: string;
  stop(): void;
  start(): void;
  destroy(): void;
}

export function createPgCluster(port: number): PgCluster {
  const bin = binDir();
  const dir = mkdtempSync(path.join(tmpdir(), "hm-pg-"));
  chmodSync(dir, 0o777);
  const data = path.join(dir, "data");
  const asPostgres = (cmd: string, args: string[]) => {
    const full = [path.join(bin, cmd), ...args];
    if (process.getuid?.() === 0) execFileSync("runuser", ["-u", "postgres", "--", ...full]);
    else execFileSync(full[0]!, full.slice(1));
  };
  asPostgres("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const start = () =>
    asPostgres("pg_ctl", [
      "-D",
      data,
      "-l",
      path.join(dir, "log"),
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      "-w",
      "start",
    ]);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]),
    start,
    destroy: () => {
      try {
        asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
