import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readOrCreateSecretFile } from "./secret-file.js";

describe("readOrCreateSecretFile", () => {
  const options = (dataDir: string, configured?: string) => {
    let made = 0;
    return {
      made: () => made,
      options: {
        dataDir,
        name: "test.key",
        configured,
        what: "test key",
        fresh: () => `secret-${++made}-${Math.random()}\n`,
      },
    };
  };

  it("creates the file once (mode 0600) and reads it back afterwards", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hm-secret-"));
    const { options: o, made } = options(path.join(dir, "data"));
    const first = await readOrCreateSecretFile(o);
    expect(statSync(path.join(dir, "data", "test.key")).mode & 0o777).toBe(0o600);
    expect((await readOrCreateSecretFile(o)).equals(first)).toBe(true);
    expect(made()).toBe(1);
  });

  it("gives processes starting together one secret", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hm-secret-"));
    const all = await Promise.all(
      Array.from({ length: 8 }, () => readOrCreateSecretFile(options(dir).options)),
    );
    expect(new Set(all.map((b) => b.toString())).size).toBe(1);
  });

  it("never replaces a configured file that is missing", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hm-secret-"));
    const missing = path.join(dir, "elsewhere.key");
    const { options: o, made } = options(dir, missing);
    await expect(readOrCreateSecretFile(o)).rejects.toMatchObject({ code: "config_error" });
    expect(made()).toBe(0);
  });
});
