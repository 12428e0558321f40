import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { generateWatermarkKey, keyBytes, loadWatermarkKey, parseWatermarkKey } from "./key.js";

describe("watermark key", () => {
  it("creates <dataDir>/watermark.key with mode 0600 on first use and reads it back", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hm-wm-"));
    const dataDir = path.join(dir, "data");
    const first = await loadWatermarkKey({ dataDir });
    const file = path.join(dataDir, "watermark.key");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, "utf8")).trim()).toMatch(/^[0-9a-f]{64}$/);
    const again = await loadWatermarkKey({ dataDir });
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(keyBytes(again)).toEqual(keyBytes(first));
  });

  it("reads an explicit key file and never replaces a missing one", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hm-wm-"));
    const keyFile = path.join(dir, "k");
    await writeFile(keyFile, `${"ab".repeat(32)}\n`);
    const key = await loadWatermarkKey({ keyFile, dataDir: dir });
    expect(Buffer.from(keyBytes(key)).toString("hex")).toBe("ab".repeat(32));
    await expect(
      loadWatermarkKey({ keyFile: path.join(dir, "missing"), dataDir: dir }),
    ).rejects.toMatchObject({
      code: "config_error",
    });
    await writeFile(keyFile, "not a key");
    await expect(loadWatermarkKey({ keyFile, dataDir: dir })).rejects.toMatchObject({
      code: "config_error",
    });
  });

  it("never shows its bytes when printed, inspected or serialised", () => {
    const key = parseWatermarkKey(Buffer.from("cd".repeat(32)));
    const secretHex = "cd".repeat(32);
    for (const shown of [String(key), JSON.stringify(key), inspect(key), `${key}`]) {
      expect(shown).not.toContain(secretHex);
      expect(shown).toContain(key.fingerprint);
    }
    expect(generateWatermarkKey().fingerprint).not.toBe(key.fingerprint);
  });
});
