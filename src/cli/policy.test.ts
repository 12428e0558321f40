import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/index.js";
import type { Database } from "../db/index.js";
import { testDatabases } from "../db/test-databases.js";
import { createTenant } from "../tenants/index.js";
import { registerPolicyCommands } from "./policy.js";

describe.each(testDatabases())("hallmark policy / tenant set ($name)", (testDb) => {
  let database: Database;
  const lines: string[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), "hm-cli-"));

  beforeAll(async () => {
    database = await testDb.open();
    await createTenant(database.db, "acme");
  }, 300_000);
  afterAll(() => database.close());

  async function run(...args: string[]): Promise<string> {
    lines.length = 0;
    const program = new Command("hallmark").exitOverride();
    const tenant = program.command("tenant");
    registerPolicyCommands(program, tenant, {
      config: loadConfig({ HALLMARK_DATA_DIR: dir }),
      // The session closes what it opened: hand it a view whose close leaves the test's database.
      openDatabase: async () => ({ ...database, close: async () => {} }),
      out: (l) => lines.push(l),
    });
    process.exitCode = undefined;
    await program.parseAsync(["node", "hallmark", ...args]);
    return lines.join("\n");
  }

  it("tenant set, policy set, versions, check under the tenant's policy and declarations", async () => {
    expect(
      await run(
        "tenant",
        "set",
        "acme",
        "--use",
        "commercial",
        "--revenue-usd",
        "5000000",
        "--output-terms",
        "royalty-free standard licence",
      ),
    ).toMatch(/acme: commercial, annual revenue USD 5,000,000, output terms: royalty-free/);
    const file = path.join(dir, "acme.yaml");
    writeFileSync(file, "categories:\n  sexual: { review: 0.4 }\n");
    expect(
      await run(
        "policy",
        "set",
        "--tenant",
        "acme",
        "--file",
        file,
        "--comment",
        "stricter",
        "--author",
        "alice",
      ),
    ).toMatch(/acme: policy v1 \(base default\) [0-9a-f]{64}/);
    expect(await run("policy", "versions", "--tenant", "acme")).toMatch(
      /^v1\t.*\talice\t[0-9a-f]{64}\tstricter$/,
    );
    const check = JSON.parse(
      await run(
        "policy",
        "check",
        "--tenant",
        "acme",
        "--model",
        "stable-diffusion-3.5-large",
        "--prompt",
        "a sexy woman in a bikini",
        "--json",
      ),
    );
    expect(check.decision.action).toBe("review");
    expect(check.policy.id).toBe("default+acme.v1");
    expect(check.refusal.code).toBe("licence_not_permitted");
    expect(check.licence.verdict.reasons[0]).toMatch(/declared: USD 5,000,000/);
  });

  it("policy diff lists the recorded cases whose outcome changes", async () => {
    const out = await run(
      "policy",
      "diff",
      "--tenant",
      "acme",
      "--from",
      "base",
      "--to",
      "latest",
      "--recent",
      "0",
    );
    expect(out).toMatch(/→ to default\+acme\.v1 .*: \d+ inputs, 2 change outcome/);
    expect(out).toMatch(/"a sexy woman in a bikini"\n\s+allow → review \[sexual\]/);
  });

  it("policy test passes on the shipped cases and fails (exit code 1) on a wrong one", async () => {
    expect(await run("policy", "test")).toMatch(/\d+ passed, 0 failed$/);
    expect(process.exitCode).toBeUndefined();
    const cases = mkdtempSync(path.join(tmpdir(), "hm-cases-"));
    writeFileSync(
      path.join(cases, "x.yaml"),
      "cases:\n  - name: wrong\n    prompt: a lighthouse at dusk\n    expect: { action: block }\n",
    );
    expect(await run("policy", "test", "--dir", cases)).toMatch(
      /FAIL x\.yaml: wrong\n\s+action: expected block, got allow/,
    );
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;
  });

  it("policy test runs a case under a database tenant's latest version and declarations", async () => {
    const cases = mkdtempSync(path.join(tmpdir(), "hm-cases-"));
    writeFileSync(
      path.join(cases, "tenant.yaml"),
      [
        "cases:",
        "  - name: acme's stricter threshold holds it",
        "    prompt: a sexy woman in a bikini",
        "    tenant: acme",
        "    expect: { action: review, categories: [sexual] }",
        "  - name: acme's declared revenue is over the Community License's threshold",
        "    prompt: a lighthouse at dusk",
        "    model: stable-diffusion-3.5-large",
        "    tenant: acme",
        "    expect: { action: allow, refusal: licence_not_permitted }",
        "  - name: acme's override on the case's own override",
        "    prompt: a sexy woman in a bikini",
        "    tenant: acme",
        "    override: { categories: { sexual: { review: 0.5 } } }",
        "    expect: { action: allow }",
        "",
      ].join("\n"),
    );
    expect(await run("policy", "test", "--dir", cases)).toMatch(/3 passed, 0 failed$/);
    expect(process.exitCode).toBeUndefined();
  });

  it("bad input is refused with a clear message", async () => {
    await expect(run("tenant", "set", "acme", "--revenue-usd", "lots")).rejects.toThrow(
      /revenue: expected a whole number/,
    );
    await expect(
      run("policy", "diff", "--from", "3", "--to", "base", "--recent", "0"),
    ).rejects.toThrow(/needs --tenant/);
    const bad = path.join(dir, "bad.yaml");
    writeFileSync(bad, "categories:\n  sexual: { review: 3 }\n");
    await expect(run("policy", "set", "--tenant", "acme", "--file", bad)).rejects.toThrow(
      /bad\.yaml:2: categories\.sexual/,
    );
  });
});

describe("defaultModelFor: the model a request without one gets, as the generator names it", () => {
  it("follows the configured backend, and the default backend of a backends file", async () => {
    const { defaultModelFor } = await import("./policy.js");
    const { createPlaceholderGenerator, EMBEDDED_MODEL } = await import("../generate/index.js");
    expect(defaultModelFor(loadConfig({}))).toBe(EMBEDDED_MODEL);
    expect(defaultModelFor(loadConfig({ HALLMARK_BACKEND: "placeholder" }))).toBe(
      createPlaceholderGenerator().defaultModel,
    );
    expect(
      defaultModelFor(
        loadConfig({ HALLMARK_BACKEND: "onnx-sd", HALLMARK_ONNX_SD_DIR: "/srv/sd-turbo-onnx" }),
      ),
    ).toBe("sd-turbo-onnx");
    expect(
      defaultModelFor(loadConfig({ HALLMARK_BACKEND: "openai", HALLMARK_OPENAI_MODEL: "m-1" })),
    ).toBe("m-1");
    const file = path.join(mkdtempSync(path.join(tmpdir(), "hm-default-model-")), "b.yaml");
    writeFileSync(file, "default: cloud\nbackends:\n  cloud:\n    kind: openai\n    model: m-2\n");
    expect(defaultModelFor(loadConfig({ HALLMARK_BACKENDS_FILE: file }))).toBe("m-2");
  });
});
