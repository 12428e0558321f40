import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it } from "vitest";
import { tempDataDir } from "../provenance/c2pa/test-support.js";
import { registerCertsCommands } from "./certs.js";

function cli(dataDir: string, extra: Record<string, unknown> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command().exitOverride();
  registerCertsCommands(program, {
    dataDir,
    print: (l) => out.push(l),
    printError: (l) => err.push(l),
    ...extra,
  });
  return { program, out, err };
}

afterEach(() => {
  process.exitCode = 0;
});

describe("hallmark certs", () => {
  it("dev writes the development CA and keys, check then reports OK and names the anchor", async () => {
    const dataDir = await tempDataDir();
    const dev = cli(dataDir);
    await dev.program.parseAsync(["node", "hallmark", "certs", "dev"]);
    const written = JSON.parse(dev.out[0]!);
    expect(written.ca.subject).toMatch(/development/i);
    expect(await readFile(join(dataDir, "certs", "dev-ca.pem"), "utf8")).toContain(
      "BEGIN CERTIFICATE",
    );
    expect((await stat(join(dataDir, "certs", "dev-ca.key"))).mode & 0o777).toBe(0o600);

    const check = cli(dataDir);
    await check.program.parseAsync(["node", "hallmark", "certs", "check"]);
    expect(check.out[0]).toBe("credentials: OK");
    expect(check.out.join("\n")).toMatch(/\[development\] CN=Hallmark Development CA/);
    expect(process.exitCode ?? 0).toBe(0);
  });

  it("check explains a broken configured chain and exits 1", async () => {
    const dataDir = await tempDataDir();
    const check = cli(dataDir, {
      certFile: join(dataDir, "missing.crt"),
      keyFile: join(dataDir, "missing.key"),
    });
    await check.program.parseAsync(["node", "hallmark", "certs", "check", "--json"]);
    const report = JSON.parse(check.out[0]!);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toContain("cannot be read");
    expect(process.exitCode).toBe(1);
  });
});
