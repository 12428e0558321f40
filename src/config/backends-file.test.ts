import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseBackendsFile } from "./backends-file.js";
import { loadConfig } from "./load.js";

const defaults = {
  concurrency: 4,
  queue: 32,
  timeoutMs: 120_000,
  retries: 2,
  breakerFailures: 5,
  breakerCooldownMs: 30_000,
};
const FILE = `default: local
backends:
  local:
    kind: embedded
    steps: 8
  gpu:
    kind: onnx-sd
    dir: ../sd15-onnx
    models: [sd-v1-5]
    concurrency: 1
    queue: 4
  cloud:
    kind: openai
    api_key_env: CLOUD_KEY
`;

describe("HALLMARK_BACKENDS_FILE", () => {
  it("gives each entry its kind's settings, the variables' limits where it sets none", () => {
    const parsed = parseBackendsFile(
      FILE,
      "/etc/hallmark/backends.yaml",
      { CLOUD_KEY: "sk-1" },
      defaults,
    );
    expect(parsed.default).toBe("local");
    expect(parsed.backends.map((b) => [b.name, b.config.kind, b.models])).toEqual([
      ["local", "embedded", []],
      ["gpu", "onnx-sd", ["sd-v1-5"]],
      ["cloud", "openai", []],
    ]);
    expect(parsed.backends[0]!.config).toMatchObject({ steps: 8, concurrency: 4, queue: 32 });
    // Paths are relative to the file, not to the working directory.
    expect(parsed.backends[1]!.config).toMatchObject({
      dir: "/etc/sd15-onnx",
      steps: 25,
      concurrency: 1,
      queue: 4,
      retries: 2,
    });
    expect(parsed.backends[2]!.config).toMatchObject({
      url: "https://api.openai.com",
      apiKey: "sk-1",
      model: "gpt-image-1",
    });
  });

  it("names the file, the line and the field of a mistake", () => {
    const bad = FILE.replace("kind: onnx-sd", "kind: onnx-sdxl");
    expect(() => parseBackendsFile(bad, "b.yaml", { CLOUD_KEY: "k" }, defaults)).toThrow(
      /b\.yaml:\d+: backends\.gpu\.kind/,
    );
    const typo = FILE.replace("steps: 8", "stepz: 8");
    expect(() => parseBackendsFile(typo, "b.yaml", { CLOUD_KEY: "k" }, defaults)).toThrow(
      /b\.yaml:\d+: backends\.local.*stepz/,
    );
    expect(() =>
      parseBackendsFile(
        FILE.replace("default: local", "default: remote"),
        "b.yaml",
        { CLOUD_KEY: "k" },
        defaults,
      ),
    ).toThrow(/default: "remote" is not one of the backends \(local, gpu, cloud\)/);
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [i, name] of ["b", "c", "d", "e", "f"].entries()) {
      const prev = "abcde"[i];
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    }
    expect(() => parseBackendsFile(`${levels.join("\n")}\n`, "bomb.yaml", {}, defaults)).toThrow(
      /bomb\.yaml: Excessive alias count/,
    );
    expect(() => parseBackendsFile("default: a\nbackends: {}\n", "b.yaml", {}, defaults)).toThrow(
      /name at least one backend/,
    );
  });

  it("takes a key only from the variable it names, and refuses a missing one without saying a key", () => {
    expect(() => parseBackendsFile(FILE, "b.yaml", {}, defaults)).toThrow(
      /backends\.cloud\.api_key_env: the variable CLOUD_KEY is not set/,
    );
    const withKey = FILE.replace("api_key_env: CLOUD_KEY", "api_key: sk-in-the-file");
    expect(() => parseBackendsFile(withKey, "b.yaml", {}, defaults)).toThrow(/api_key/);
  });

  it("loadConfig reads it, and the default backend is the configured backend", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hm-backends-config-"));
    const file = path.join(dir, "backends.yaml");
    writeFileSync(file, FILE);
    const config = loadConfig({ HALLMARK_BACKENDS_FILE: file, CLOUD_KEY: "sk-2" });
    expect(config.backends?.backends).toHaveLength(3);
    expect(config.backend).toMatchObject({ kind: "embedded", steps: 8 });
    expect(() => loadConfig({ HALLMARK_BACKENDS_FILE: path.join(dir, "missing.yaml") })).toThrow(
      /HALLMARK_BACKENDS_FILE: cannot read .*missing\.yaml \(ENOENT\)/,
    );
  });
});
