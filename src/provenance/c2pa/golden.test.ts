import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { enginePackageVersion } from "./engine.js";
import { GOLDEN_FILES, goldenResults } from "./golden.js";
import { tempDataDir } from "./test-support.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

describe("golden signed files", () => {
  it("read back with exactly the validation results pinned when they were made", async () => {
    const pinned = JSON.parse(await readFile(join(fixtures, "golden-expected.json"), "utf8")) as {
      engine: string;
      results: Record<string, unknown>;
    };
    const actual = await goldenResults(fixtures, await tempDataDir());
    expect(Object.keys(actual)).toEqual([...GOLDEN_FILES]);
    // On failure after an upgrade of @contentauth/c2pa-wasm: read the difference, decide whether
    // Hallmark's verify answers may change, then regenerate with fixtures/generate.ts.
    expect(
      actual,
      `validation results differ from those pinned with c2pa-wasm ${pinned.engine} (installed: ${enginePackageVersion()})`,
    ).toEqual(pinned.results);
  });
});
