import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { COMPACT_MALLOC_TUNABLES, PACKAGE_ROOT } from "../config/index.js";

const LAUNCHER = path.join(PACKAGE_ROOT, "bin/hallmark");

/**
 * bin/hallmark run with a stand-in `node` first on PATH that prints what it was started with:
 * its arguments, GLIBC_TUNABLES, and whether it replaced the launcher's shell (same process id).
 */
function launch(env: Record<string, string>, ...args: string[]) {
  const dir = mkdtempSync(path.join(tmpdir(), "hm-launcher-"));
  const fake = path.join(dir, "node");
  writeFileSync(
    fake,
    `#!/bin/sh\nprintf '%s\\n' "pid=$$" "tunables=\${GLIBC_TUNABLES-<unset>}" "$@"\n`,
  );
  chmodSync(fake, 0o755);
  // The launcher prints its own process id first, then execs the stand-in.
  const out = execFileSync("sh", ["-c", 'echo "pid=$$"; exec "$0" "$@"', LAUNCHER, ...args], {
    env: { PATH: `${dir}:${process.env.PATH ?? ""}`, ...env },
    encoding: "utf8",
  });
  const [launcherPid, nodePid, tunables, ...argv] = out.trimEnd().split("\n");
  return { sameProcess: launcherPid === nodePid, tunables: tunables!.slice(9), argv };
}

describe("bin/hallmark (the launcher that tunes glibc's allocator before node starts)", () => {
  it("by default sets the compact malloc tunables and execs node (able to collect garbage when start-up is done) on bin/hallmark.js with the arguments as given", () => {
    const run = launch({}, "serve", "--label", "two words");
    expect(run.tunables).toBe(COMPACT_MALLOC_TUNABLES);
    expect(run.argv).toEqual([
      "--expose-gc",
      path.join(PACKAGE_ROOT, "bin/hallmark.js"),
      "serve",
      "--label",
      "two words",
    ]);
    // exec, not a child: signals, exit status and process id are node's own.
    expect(run.sameProcess).toBe(true);
  });

  it("HALLMARK_MALLOC=system leaves glibc's defaults", () => {
    expect(launch({ HALLMARK_MALLOC: "system" }, "serve").tunables).toBe("<unset>");
  });

  it("keeps an operator's GLIBC_TUNABLES that names a malloc tunable, and adds the compact ones to one that does not", () => {
    const own = "glibc.malloc.arena_max=8";
    expect(launch({ GLIBC_TUNABLES: own }, "serve").tunables).toBe(own);
    expect(launch({ GLIBC_TUNABLES: "glibc.cpu.x86_ibt=on" }, "serve").tunables).toBe(
      `glibc.cpu.x86_ibt=on:${COMPACT_MALLOC_TUNABLES}`,
    );
  });

  it("passes a value it does not know through, for the configuration to refuse by name", () => {
    expect(launch({ HALLMARK_MALLOC: "jemalloc" }, "serve").tunables).toBe("<unset>");
  });

  it("starts the real command line", () => {
    const version = execFileSync(LAUNCHER, ["--version"], { encoding: "utf8" }).trim();
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(() =>
      execFileSync(LAUNCHER, ["migrate"], {
        env: { ...process.env, HALLMARK_MALLOC: "jemalloc" },
        encoding: "utf8",
        stdio: "pipe",
      }),
    ).toThrow(/HALLMARK_MALLOC/);
  });
});
