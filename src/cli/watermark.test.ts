import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it } from "vitest";
import { toSharp } from "../provenance/watermark/eval/attacks.js";
import { makeScene } from "../provenance/watermark/eval/scenes.js";
import { registerWatermarkCommands } from "./watermark.js";

async function run(args: string[], dataDir: string) {
  const lines: string[] = [];
  const errors: string[] = [];
  const program = new Command("hallmark").exitOverride();
  registerWatermarkCommands(program, {
    dataDir,
    print: (l) => lines.push(l),
    printError: (l) => errors.push(l),
  });
  await program.parseAsync(["node", "hallmark", ...args]);
  return { lines, errors };
}

afterEach(() => {
  process.exitCode = 0;
});

describe("hallmark watermark", () => {
  it("embeds with a key file and detects, one JSON line per file in order", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hm-wm-cli-"));
    const keyFile = path.join(dir, "key");
    await writeFile(keyFile, "0f".repeat(32));
    const input = path.join(dir, "in.png");
    await toSharp(makeScene("foliage", 600, 400, 1))
      .png()
      .toFile(input);
    const out = path.join(dir, "out.jpg");
    const embed = await run(
      [
        "watermark",
        "embed",
        "--in",
        input,
        "--out",
        out,
        "--payload",
        "00AB0123456789AB",
        "--key-file",
        keyFile,
      ],
      dir,
    );
    expect(JSON.parse(embed.lines[0]!)).toMatchObject({
      applied: true,
      payload: "00ab0123456789ab",
    });
    const notImage = path.join(dir, "notes.txt");
    await writeFile(notImage, "hello");
    const detect = await run(
      ["watermark", "detect", "--key-file", keyFile, "--json", out, input, notImage],
      dir,
    );
    const [marked, plain, broken] = detect.lines.map((l) => JSON.parse(l));
    expect(marked).toMatchObject({ file: out, detected: true, payload: "00ab0123456789ab" });
    expect(marked.transform).toMatchObject({ flipped: false });
    expect(marked.confidence).toBeGreaterThan(0.99);
    expect(plain).toMatchObject({ file: input, detected: false, transform: null });
    expect(broken).toMatchObject({ file: notImage, error: { code: "invalid_image" } });
    expect(process.exitCode).toBe(1);
  });

  it("exits 0 when no mark is found, and uses <dataDir>/watermark.key by default", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hm-wm-cli-"));
    const input = path.join(dir, "in.png");
    await toSharp(makeScene("city", 400, 300, 2))
      .png()
      .toFile(input);
    const detect = await run(["watermark", "detect", "--json", input], dir);
    expect(JSON.parse(detect.lines[0]!)).toMatchObject({ detected: false });
    expect(process.exitCode ?? 0).toBe(0);
  });

  it("rejects a bad payload without writing anything", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hm-wm-cli-"));
    const res = await run(
      ["watermark", "embed", "--in", "x.png", "--out", "y.png", "--payload", "xyz"],
      dir,
    );
    expect(res.errors[0]).toMatch(/16 hex digits/);
    expect(process.exitCode).toBe(1);
  });
});
