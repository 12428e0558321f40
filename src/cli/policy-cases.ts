/**
 * Policy test cases (policies/tests/*.yaml): requests with the outcome a policy must give them.
 * `hallmark policy test` runs them (and `npm test` through policy-cases.test.ts); `hallmark
 * policy diff` runs them, and recently recorded prompts, under two policies and lists what changes.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { CATEGORIES } from "../classify/categories.js";
import type { ImageClassifier } from "../classify/image/index.js";
import type { TextClassifier } from "../classify/text/index.js";
import { HallmarkError } from "../errors/index.js";
import { checkPolicy, type PolicyCheck } from "../pipeline/policy-check.js";
import {
  effectivePolicy,
  type LicenceRegistry,
  mergePolicy,
  type Policy,
  type PolicyOverride,
  type TenantSettings,
} from "../policy/index.js";
import { policyOverrideSchema } from "../policy/schema.js";
import { parseYaml } from "../policy/yaml.js";

const action = z.enum(["allow", "review", "block"]);

export const policyCaseSchema = z
  .object({
    name: z.string().min(1),
    prompt: z.string().min(1).max(4000),
    /** The model asked for (default: hallmark-placeholder). */
    model: z.string().min(1).default("hallmark-placeholder"),
    /** The base policy's id (default: the configured policy). */
    policy: z.string().optional(),
    /** A tenant override merged into the base for this case. */
    override: policyOverrideSchema.optional(),
    /** A tenant in the database: its latest override and its declarations (needs a database). */
    tenant: z.string().optional(),
    /** Declarations for the licence audit, inline. */
    declared: z
      .object({
        use: z.enum(["commercial", "non-commercial"]),
        annual_revenue_usd: z.number().int().min(0).optional(),
        output_terms: z.string().optional(),
      })
      .strict()
      .optional(),
    /** An image file (relative to the case file) screened by the image classifiers. */
    image: z.string().optional(),
    /** How the image is screened: as a generated image (default) or as an edit's input photo. */
    image_as: z.enum(["output", "input"]).default("output"),
    expect: z
      .object({
        action,
        /** Exactly the categories that fire (at review or block). */
        categories: z.array(z.enum(CATEGORIES)).optional(),
        /**
         * Policy rules that must be among those that fired, e.g. rules.deepfake-intent, or an
         * operator hash list that matched the image, `hash_list:<list>`.
         */
        rules: z.array(z.string()).optional(),
        /** The refusal before generating, or null for none. */
        refusal: z.enum(["model_not_allowed", "licence_not_permitted"]).nullable().optional(),
      })
      .strict(),
  })
  .strict();

export type PolicyCase = z.infer<typeof policyCaseSchema> & { file: string };

const caseFileSchema = z.object({ cases: z.array(policyCaseSchema).min(1) }).strict();

/** Loads every `*.yaml` in the folder; a mistake is a `config_error` with file and line. */
export async function loadPolicyCases(dir: string): Promise<PolicyCase[]> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  const out: PolicyCase[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const { data } = parseYaml(await readFile(file, "utf8"), file, caseFileSchema, "policy tests");
    for (const c of data.cases) out.push({ ...c, file });
  }
  return out;
}

export interface CaseEnv {
  text: TextClassifier;
  image?: ImageClassifier;
  licences?: LicenceRegistry;
  /** A base policy by id (absent: the configured one). */
  base(id?: string): Policy;
  /** A database tenant's effective policy and declarations (cases with `tenant`). */
  tenant?(name: string): Promise<{ policy: Policy; settings: TenantSettings | null }>;
}

/** The policy and declarations a case runs under. */
export async function casePolicy(
  env: CaseEnv,
  c: PolicyCase,
): Promise<{ policy: Policy; settings: TenantSettings | null }> {
  let policy = env.base(c.policy);
  let settings: TenantSettings | null = null;
  if (c.tenant) {
    if (!env.tenant) {
      throw new HallmarkError("config_error", `${c.file}: "${c.name}" needs a database (tenant).`);
    }
    ({ policy, settings } = await env.tenant(c.tenant));
  }
  if (c.override) {
    const content = mergePolicy(policy, c.override as PolicyOverride, `${c.file} (${c.name})`);
    policy = effectivePolicy(policy, content, { id: "case", name: "case", version: 0 });
  }
  if (c.declared) {
    settings = {
      use: c.declared.use,
      annualRevenueUsd: c.declared.annual_revenue_usd ?? null,
      outputTerms: c.declared.output_terms ?? null,
      revision: 0,
      updatedBy: "case",
      updatedAt: new Date(0),
    };
  }
  return { policy, settings };
}

export interface CaseOutcome {
  action: string;
  categories: string[];
  rules: string[];
  refusal: string | null;
}

export function outcomeOf(check: PolicyCheck): CaseOutcome {
  return {
    action: check.decision.action,
    categories: [...check.decision.fired].sort(),
    rules: [...check.decision.rules.map((r) => r.rule), ...check.hashListMatches],
    refusal: check.refusal?.code ?? null,
  };
}

export async function runCase(
  env: CaseEnv,
  c: PolicyCase,
  policy: Policy,
  settings: TenantSettings | null,
): Promise<CaseOutcome> {
  const image = c.image ? await readFile(path.resolve(path.dirname(c.file), c.image)) : undefined;
  return outcomeOf(
    await checkPolicy(env, policy, settings, {
      prompt: c.prompt,
      model: c.model,
      image,
      imageAs: c.image_as,
    }),
  );
}

export interface CaseResult {
  case: PolicyCase;
  outcome: CaseOutcome;
  /** What differs from the expectation; empty when the case passed. */
  mismatches: string[];
}

/** Runs every case and compares it with its expectation. */
export async function runPolicyCases(env: CaseEnv, cases: PolicyCase[]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const { policy, settings } = await casePolicy(env, c);
    const outcome = await runCase(env, c, policy, settings);
    const mismatches: string[] = [];
    const e = c.expect;
    if (outcome.action !== e.action) {
      mismatches.push(`action: expected ${e.action}, got ${outcome.action}`);
    }
    if (e.categories) {
      const want = [...e.categories].sort().join(", ");
      const got = outcome.categories.join(", ");
      if (want !== got) mismatches.push(`categories: expected [${want}], got [${got}]`);
    }
    for (const r of e.rules ?? []) {
      if (!outcome.rules.includes(r)) {
        mismatches.push(`rules: expected ${r} to fire, fired [${outcome.rules.join(", ")}]`);
      }
    }
    if (e.refusal !== undefined && (e.refusal ?? null) !== outcome.refusal) {
      mismatches.push(`refusal: expected ${e.refusal ?? "none"}, got ${outcome.refusal ?? "none"}`);
    }
    results.push({ case: c, outcome, mismatches });
  }
  return results;
}

/** A human report of a test run: one line per case, the mismatches under a failed one. */
export function formatCaseResults(results: CaseResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const where = `${path.basename(r.case.file)}: ${r.case.name}`;
    lines.push(`${r.mismatches.length === 0 ? "ok  " : "FAIL"} ${where}`);
    for (const m of r.mismatches) lines.push(`       ${m}`);
  }
  const failed = results.filter((r) => r.mismatches.length > 0).length;
  lines.push(`${results.length - failed} passed, ${failed} failed`);
  return lines.join("\n");
}

/** One input whose outcome differs between two policies. */
export interface DiffChange {
  source: string;
  prompt: string;
  from: CaseOutcome;
  to: CaseOutcome;
}

const same = (a: CaseOutcome, b: CaseOutcome) =>
  a.action === b.action &&
  a.refusal === b.refusal &&
  a.categories.join() === b.categories.join() &&
  a.rules.join() === b.rules.join();

/**
 * Runs each input under two policies and answers those whose outcome (action, categories,
 * rules, refusal) changes. Inputs are test cases (with their own model and declarations) and
 * recorded prompts (the placeholder model, the given declarations).
 */
export async function diffPolicies(
  env: CaseEnv,
  from: Policy,
  to: Policy,
  inputs: Array<{
    source: string;
    prompt: string;
    model?: string;
    image?: string;
    imageAs?: "output" | "input";
    file?: string;
  }>,
  settings: TenantSettings | null,
): Promise<{ checked: number; changes: DiffChange[] }> {
  const changes: DiffChange[] = [];
  for (const input of inputs) {
    const c = {
      name: input.source,
      prompt: input.prompt,
      model: input.model ?? "hallmark-placeholder",
      file: input.file ?? ".",
      image: input.image,
      image_as: input.imageAs ?? "output",
      expect: { action: "allow" as const },
    };
    const a = await runCase(env, c, from, settings);
    const b = await runCase(env, c, to, settings);
    if (!same(a, b)) changes.push({ source: input.source, prompt: input.prompt, from: a, to: b });
  }
  return { checked: inputs.length, changes };
}
