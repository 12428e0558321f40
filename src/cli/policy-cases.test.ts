import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createImageClassifier, type ImageClassifier } from "../classify/image/index.js";
import { createTextClassifier, type TextClassifier } from "../classify/text/index.js";
import { PACKAGE_ROOT } from "../config/index.js";
import { loadLicenceRegistry, loadPolicyFile, type Policy } from "../policy/index.js";
import {
  type CaseEnv,
  diffPolicies,
  formatCaseResults,
  loadPolicyCases,
  runPolicyCases,
} from "./policy-cases.js";

const ROOT = PACKAGE_ROOT;
const MODEL = path.join(ROOT, "models/text-classifier/model.onnx");

let text: TextClassifier;
let image: ImageClassifier;
let env: CaseEnv;
let policy: Policy;

beforeAll(async () => {
  text = await createTextClassifier({
    lexiconDir: path.join(ROOT, "policies/lexicons"),
    publicFiguresDir: path.join(ROOT, "policies/public-figures"),
    modelPath: existsSync(MODEL) ? MODEL : undefined,
  });
  policy = await loadPolicyFile(path.join(ROOT, "policies/default.yaml"));
  const licences = await loadLicenceRegistry(path.join(ROOT, "policies/licences"));
  // The image cases (policies/tests/images.yaml) run the real image models, as the CLI does.
  image = await createImageClassifier({
    modelsDir: path.join(ROOT, "models"),
    textScreen: text,
    sessionOptions: { intraOpNumThreads: 1 },
  });
  env = { text, image, licences, base: () => policy };
});
afterAll(async () => {
  await image.close();
  await text.close();
});

describe("policies/tests (what `hallmark policy test` runs)", () => {
  it("every case gives the expected action, categories, rules and refusal", async () => {
    const cases = await loadPolicyCases(path.join(ROOT, "policies/tests"));
    expect(cases.length).toBeGreaterThanOrEqual(30);
    // Image cases, screened as a generated image and as an edit's input photo, are among them.
    expect(cases.some((c) => c.image && c.image_as === "output")).toBe(true);
    expect(cases.some((c) => c.image && c.image_as === "input")).toBe(true);
    expect(image.models).toEqual({ nsfw: true, faces: true, ocr: true });
    const results = await runPolicyCases(env, cases);
    const report = formatCaseResults(results);
    expect(results.filter((r) => r.mismatches.length > 0).length, report).toBe(0);
  });

  it("an image case whose expectation is wrong fails (the image screen decides)", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hm-cases-"));
    const mark = path.join(ROOT, "policies/tests/images/stock-mark.jpg");
    await writeFile(
      path.join(dir, "img.yaml"),
      `cases:\n  - name: mark\n    prompt: a calm sea\n    image: ${JSON.stringify(mark)}\n    expect: { action: allow }\n`,
    );
    const results = await runPolicyCases(env, await loadPolicyCases(dir));
    expect(results[0]!.mismatches).toEqual(["action: expected allow, got block"]);
  });

  it("a case whose expectation is wrong fails with the mismatch named", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hm-cases-"));
    await writeFile(
      path.join(dir, "wrong.yaml"),
      "cases:\n  - name: wrong\n    prompt: a nude woman on a beach\n    expect: { action: allow, categories: [] }\n",
    );
    const results = await runPolicyCases(env, await loadPolicyCases(dir));
    expect(results[0]!.mismatches).toEqual([
      "action: expected allow, got block",
      "categories: expected [], got [sexual]",
    ]);
    expect(formatCaseResults(results)).toMatch(/FAIL wrong\.yaml: wrong[\s\S]*0 passed, 1 failed/);
  });

  it("a malformed case file is reported with its line", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "hm-cases-"));
    await writeFile(
      path.join(dir, "bad.yaml"),
      "cases:\n  - name: bad\n    prompt: x\n    expect: { action: maybe }\n",
    );
    await expect(loadPolicyCases(dir)).rejects.toThrow(/bad\.yaml:4: cases\.0\.expect\.action/);
  });
});

describe("policy diff", () => {
  it("lists exactly the inputs whose outcome changes between two policies", async () => {
    const stricter: Policy = {
      ...policy,
      hash: "x",
      categories: { ...policy.categories, sexual: { review: 0.4, block: 0.7 } },
    };
    const inputs = [
      { source: "a", prompt: "a sexy woman in a bikini" },
      { source: "b", prompt: "a lighthouse at dusk" },
      { source: "c", prompt: "a nude woman on a beach" },
    ];
    const { checked, changes } = await diffPolicies(env, policy, stricter, inputs, null);
    expect(checked).toBe(3);
    expect(changes.map((c) => c.source)).toEqual(["a"]);
    expect(changes[0]!.from.action).toBe("allow");
    expect(changes[0]!.to).toMatchObject({ action: "review", categories: ["sexual"] });
  });
});
