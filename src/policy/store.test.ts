import { copyFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { emptyScores } from "../classify/categories.js";
import { decide } from "./decide.js";
import { loadPolicyFile } from "./load.js";
import { mergePolicy, parseOverride } from "./merge.js";
import { applyRules } from "./rules.js";
import { createPolicyStore, type PolicyStore } from "./store.js";

const DEFAULT = new URL("../../policies/default.yaml", import.meta.url).pathname;

function captureLogger() {
  const lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    lines.push({ level, msg, fields });
  return { lines, logger: { info: at("info"), warn: at("warn"), error: at("error") } };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("policy reload", () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  async function tempPolicy(): Promise<{
    file: string;
    store: PolicyStore;
    log: ReturnType<typeof captureLogger>;
  }> {
    const dir = await mkdtemp(path.join(tmpdir(), "hm-policy-"));
    const file = path.join(dir, "default.yaml");
    await copyFile(DEFAULT, file);
    const log = captureLogger();
    const store = await createPolicyStore({ policyFile: file, logger: log.logger });
    return { file, store, log };
  }

  it("a valid change of the file is applied (watch, debounced), atomically", async () => {
    const { file, store, log } = await tempPolicy();
    const before = store.current();
    const seen: string[] = [];
    store.onReload((p) => seen.push(p.hash));
    stop = store.watch(50);
    const text = (await readFile(file, "utf8")).replace(
      /sexual: +\{ review: 0\.5, block: 0\.7 \}/,
      "sexual: { review: 0.4, block: 0.6 }",
    );
    await writeFile(file, text);
    await until(() => store.current() !== before);
    expect(store.current().categories.sexual).toEqual({ review: 0.4, block: 0.6 });
    expect(store.current().hash).not.toBe(before.hash);
    expect(seen).toEqual([store.current().hash]);
    expect(log.lines.find((l) => l.msg === "policies reloaded")?.fields).toMatchObject({
      changed: true,
    });
  });

  it("a broken file is rejected with a logged error, and the old policy stays in force", async () => {
    const { file, store, log } = await tempPolicy();
    const before = store.current();
    stop = store.watch(50);
    await writeFile(
      file,
      (await readFile(file, "utf8")).replace("review: 0.5, block: 0.7", "review: 2"),
    );
    await until(() => log.lines.some((l) => l.level === "error"));
    const error = log.lines.find((l) => l.level === "error")!;
    expect(error.msg).toBe("policy reload rejected; the policies in force stay");
    expect(String(error.fields?.error)).toMatch(/default\.yaml:\d+: categories\.sexual/);
    expect(store.current()).toBe(before);
    // SIGHUP runs the same reload: still rejected while the file is broken.
    expect((await store.reload("SIGHUP")).ok).toBe(false);
    expect(store.current()).toBe(before);
    // Fixed: taken.
    await writeFile(file, await readFile(DEFAULT, "utf8"));
    expect((await store.reload("SIGHUP")).ok).toBe(true);
    expect(store.current().hash).toBe(before.hash);
  });

  it("other policy files beside it are bases; a broken one is left out with a warning", async () => {
    const { file, log } = await tempPolicy();
    const dir = path.dirname(file);
    await writeFile(
      path.join(dir, "strict.yaml"),
      (await readFile(DEFAULT, "utf8")).replace("id: default", "id: strict"),
    );
    await writeFile(path.join(dir, "junk.yaml"), "id: [");
    const store = await createPolicyStore({ policyFile: file, logger: log.logger });
    expect(
      store
        .bases()
        .map((p) => p.id)
        .sort(),
    ).toEqual(["default", "strict"]);
    expect(store.base("strict").id).toBe("strict");
    expect(() => store.base("nope")).toThrow(/has: default, strict/);
    expect(
      log.lines.some((l) => l.level === "warn" && String(l.fields?.file).endsWith("junk.yaml")),
    ).toBe(true);
  });
});

describe("overrides merge", () => {
  it("merges objects by key, rules by id, and replaces lists", async () => {
    const base = await loadPolicyFile(DEFAULT);
    const text = [
      "categories: { violence: { block: 0.95 } }",
      "rules:",
      "  - { id: deepfake-intent, category: public-figure, words: [deepfake], enabled: false }",
      "  - { id: extra, category: hate, regex: ['\\bfoo\\b'] }",
      "models: { allow: [sd15] }",
    ].join("\n");
    const parsed = parseOverride(text, "o.yaml");
    const merged = mergePolicy(base, parsed.data, "o.yaml", parsed);
    expect(merged.categories.violence).toEqual({ review: 0.7, block: 0.95 });
    expect(merged.rules.map((r) => [r.id, r.enabled])).toEqual([
      ["deepfake-intent", false],
      ["watermark-removal", true],
      ["minors-sexualised", true],
      ["extra", true],
    ]);
    expect(merged.models.allow).toEqual(["sd15"]);
    expect(merged.id).toBe("default");
  });

  it("names the override's line when the merged policy is invalid", async () => {
    const base = await loadPolicyFile(DEFAULT);
    const parsed = parseOverride(
      "description: x\ncategories:\n  violence: { review: 0.99 }\n",
      "o.yaml",
    );
    expect(() => mergePolicy(base, parsed.data, "o.yaml", parsed)).toThrow(
      /o\.yaml:3: categories\.violence: review threshold must not exceed block threshold/,
    );
  });
});

describe("rules", () => {
  it("maps spans of a match on the normalised text back to the original", async () => {
    const policy = await loadPolicyFile(DEFAULT);
    const original = "a D.E.E.P.F.A.K.E";
    // A normaliser that drops the dots: each normalised unit maps back to its letter.
    const keep = [...original].map((ch, i) => [ch, i] as const).filter(([ch]) => ch !== ".");
    const normalised = {
      text: keep.map(([ch]) => ch.toLowerCase()).join(""),
      starts: keep.map(([, i]) => i),
      ends: keep.map(([, i]) => i + 1),
    };
    const { scores, fired } = applyRules(policy, emptyScores(), { original, normalised }, []);
    expect(fired).toEqual([
      {
        rule: "rules.deepfake-intent",
        category: "public-figure",
        effect: "matched 1×; score 0 → 0.5",
      },
    ]);
    expect(scores["public-figure"].spans[0]).toMatchObject({
      start: 2,
      end: 17,
      text: "D.E.E.P.F.A.K.E",
      source: "rule",
    });
  });

  it("decide names the rules that fired and leaves the input scores alone", async () => {
    const policy = await loadPolicyFile(DEFAULT);
    const scores = emptyScores();
    scores["public-figure"].score = 0.95;
    const d = decide({ ...policy, public_figures: { allow: ["tom-hanks"], block: [] } }, [
      { screen: "prompt", scores, text: { original: "Tom Hanks" }, people: ["tom-hanks"] },
    ]);
    expect(d.action).toBe("allow");
    expect(d.rules.map((r) => r.rule)).toEqual(["public_figures.allow"]);
    expect(scores["public-figure"].score).toBe(0.95);
    // Only some of the matched people allowed: the match still counts.
    const two = decide({ ...policy, public_figures: { allow: ["tom-hanks"], block: [] } }, [
      { screen: "prompt", scores, people: ["tom-hanks", "taylor-swift"] },
    ]);
    expect(two.action).toBe("block");
  });
});
