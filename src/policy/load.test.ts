import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { emptyScores } from "../classify/categories.js";
import { decide } from "./decide.js";
import { loadPolicyFile, parsePolicy } from "./load.js";

const DEFAULT = new URL("../../policies/default.yaml", import.meta.url).pathname;

describe("policy files", () => {
  it("loads the default policy with a content hash", async () => {
    const p = await loadPolicyFile(DEFAULT);
    expect(p.id).toBe("default");
    expect(p.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(p.categories["sexual/minors"].block).toBeLessThanOrEqual(p.categories.sexual.block);
  });

  it("reports a bad threshold with the file and line", () => {
    const text = readFileSync(DEFAULT, "utf8").replace(
      /sexual: +\{ review: 0\.5/,
      "sexual: { review: 1.5",
    );
    expect(() => parsePolicy(text, "x.yaml")).toThrow(/x\.yaml:\d+: categories\.sexual/);
  });

  it("reports unknown keys, unknown categories and YAML syntax errors", () => {
    const base = readFileSync(DEFAULT, "utf8");
    expect(() => parsePolicy(`${base}\nextra: 1\n`, "x.yaml")).toThrow(/extra|Unrecognized/);
    expect(() => parsePolicy(base.replace("harassment:", "harrassment:"), "x.yaml")).toThrow(
      /harrassment/,
    );
    expect(() => parsePolicy("id: [unclosed", "x.yaml")).toThrow(/x\.yaml:1:/);
  });
});

describe("decide", () => {
  it("takes the strictest category and the highest score across screens", async () => {
    const p = await loadPolicyFile(DEFAULT);
    const prompt = emptyScores();
    prompt.violence.score = 0.75; // review
    const output = emptyScores();
    output.sexual.score = 0.9; // block
    const d = decide(p, [
      { screen: "prompt", scores: prompt },
      { screen: "output", scores: output },
    ]);
    expect(d.action).toBe("block");
    expect(d.fired).toEqual(["sexual", "violence"]);
    expect(d.categories.sexual.screens).toEqual(["output"]);
    expect(d.policy).toEqual({ id: "default", hash: p.hash });
    expect(decide(p, [{ screen: "prompt", scores: emptyScores() }]).action).toBe("allow");
  });
});
