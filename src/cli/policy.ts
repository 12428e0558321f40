/**
 * `hallmark policy …` and `hallmark tenant set|show`: how a compliance team reads, tests, diffs
 * and changes policies and tenant declarations from the command line (docs/policies.md).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { and, desc, eq, isNotNull } from "drizzle-orm";
import { stringify } from "yaml";
import {
  createImageClassifier,
  type ImageClassifier,
  loadCompletionTerms,
  withCompletionTerms,
} from "../classify/image/index.js";
import { createTextClassifier, type TextClassifier } from "../classify/text/index.js";
import type { Config } from "../config/index.js";
import { PACKAGE_ROOT } from "../config/index.js";
import type { Database } from "../db/index.js";
import { generations } from "../db/schema.js";
import { HallmarkError } from "../errors/index.js";
import { EMBEDDED_MODEL, PLACEHOLDER_MODEL } from "../generate/index.js";
import { checkPolicy } from "../pipeline/policy-check.js";
import {
  createPolicyStore,
  effectivePolicy,
  findTenant,
  getTenantPolicyVersion,
  getTenantSettings,
  listTenantPolicyVersions,
  loadLicenceRegistry,
  mergePolicy,
  type Policy,
  type PolicyStore,
  parseOverride,
  parsePolicy,
  policyContent,
  setTenantPolicy,
  setTenantSettings,
  type TenantSettings,
} from "../policy/index.js";
import { loadHashList } from "../provenance/fingerprint/index.js";
import {
  type CaseEnv,
  diffPolicies,
  formatCaseResults,
  loadPolicyCases,
  runPolicyCases,
} from "./policy-cases.js";

export interface PolicyCliDeps {
  config: Config;
  openDatabase: () => Promise<Database>;
  /** Where output goes (tests capture it). */
  out?: (line: string) => void;
}

const stderrLogger = {
  info() {},
  warn: (msg: string, f?: Record<string, unknown>) =>
    console.error(`warning: ${msg} ${JSON.stringify(f ?? {})}`),
  error: (msg: string, f?: Record<string, unknown>) =>
    console.error(`error: ${msg} ${JSON.stringify(f ?? {})}`),
};

/**
 * The model a request without `model` gets from the configured backend (the default one of a
 * backends file), as each generator names it.
 */
export function defaultModelFor(config: Config): string {
  const b = config.backend;
  switch (b.kind) {
    case "openai":
      return b.model;
    case "comfyui":
      return b.checkpoint;
    case "automatic1111":
      return "automatic1111-default";
    case "embedded":
      return EMBEDDED_MODEL;
    case "onnx-sd":
      return b.modelId ?? path.basename(path.resolve(b.dir));
    case "placeholder":
      return PLACEHOLDER_MODEL;
  }
}

/** What every policy command shares: the store, classifiers and, when needed, the database. */
class Session {
  private database?: Database;
  private text?: TextClassifier;
  private image?: ImageClassifier;
  constructor(private deps: PolicyCliDeps) {}

  async db() {
    this.database ??= await this.deps.openDatabase();
    return this.database.db;
  }
  async store(withDb: boolean): Promise<PolicyStore> {
    return createPolicyStore({
      policyFile: this.deps.config.policyFile,
      db: withDb ? await this.db() : undefined,
      logger: stderrLogger,
      cacheMs: 0,
    });
  }
  async classifiers(withImage: boolean) {
    const c = this.deps.config;
    const modelPath = path.join(c.modelsDir, "text-classifier/model.onnx");
    this.text ??= await createTextClassifier({
      lexiconDir: c.lexiconDir,
      publicFiguresDir: c.publicFiguresDir,
      modelPath: existsSync(modelPath) ? modelPath : undefined,
      maxChars: c.limits.maxPromptChars,
    });
    if (withImage) {
      this.image ??= await createImageClassifier({
        modelsDir: c.modelsDir,
        hashLists: await Promise.all(c.hashLists.files.map((f) => loadHashList(f))),
        hashThreshold: c.hashLists.threshold,
        maxPixels: c.limits.maxInputPixels,
        // As the gateway screens outputs: the same turned OCR passes and mark completion.
        ocr: c.ocr,
        textScreen: withCompletionTerms(this.text, loadCompletionTerms(c.lexiconDir)),
      });
    }
    const licences = await loadLicenceRegistry(c.licenceDir);
    return { text: this.text, image: this.image, licences };
  }
  async close() {
    await this.text?.close();
    await this.image?.close();
    await this.database?.close();
  }
}

async function withSession<T>(deps: PolicyCliDeps, fn: (s: Session) => Promise<T>): Promise<T> {
  const s = new Session(deps);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** A tenant's effective policy at a version (its base as the policies folder has it now). */
async function tenantVersionPolicy(
  s: Session,
  store: PolicyStore,
  tenantName: string,
  version: number,
): Promise<Policy> {
  const db = await s.db();
  const tenant = await findTenant(db, tenantName);
  const v = await getTenantPolicyVersion(db, tenant.id, tenant.name, version);
  if (!v)
    throw new HallmarkError("not_found", `Tenant ${tenantName} has no policy version ${version}.`);
  const base = store.base(v.base);
  if (base.hash !== v.baseHash) {
    // The version is rebuilt on the base as it is now; say so rather than pass it off as the original.
    console.error(
      `warning: base "${v.base}" has changed since v${version} was set (then ${v.baseHash.slice(0, 12)}, now ${base.hash.slice(0, 12)}); the policy shown merges v${version} into the current base`,
    );
  }
  return effectivePolicy(base, mergePolicy(base, v.override, `v${version}`), {
    id: tenant.id,
    name: tenant.name,
    version,
  });
}

/**
 * `--from`/`--to` of `policy diff`: `base` (the configured policy), `latest` (the tenant's
 * effective policy), a version number of `--tenant` (`3` or `v3`), or a file: a whole policy, or
 * an override merged into the base it names.
 */
async function resolvePolicyRef(
  s: Session,
  store: PolicyStore,
  ref: string,
  tenant: string | undefined,
): Promise<Policy> {
  if (ref === "base") return store.current();
  const version = /^v?(\d+)$/.exec(ref);
  if (ref === "latest" || version) {
    if (!tenant)
      throw new HallmarkError("invalid_request_error", `--from/--to ${ref} needs --tenant.`);
    if (ref === "latest") {
      const t = await findTenant(await s.db(), tenant);
      return (await store.forTenant(t)).policy;
    }
    return tenantVersionPolicy(s, store, tenant, Number(version![1]));
  }
  const text = await readFile(ref, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new HallmarkError(
      "invalid_request_error",
      `${ref}: cannot read (${e.code ?? e.message})`,
    );
  });
  try {
    return parsePolicy(text, ref);
  } catch (whole) {
    let parsed: ReturnType<typeof parseOverride>;
    try {
      parsed = parseOverride(text, ref);
    } catch {
      throw whole;
    }
    const base = store.base(parsed.data.base);
    return effectivePolicy(base, mergePolicy(base, parsed.data, ref, parsed), {
      id: "file",
      name: path.basename(ref),
      version: 0,
    });
  }
}

function describeSettings(s: TenantSettings | null): string {
  if (!s) return "nothing declared";
  const revenue =
    s.annualRevenueUsd === null
      ? "revenue not declared"
      : `annual revenue USD ${s.annualRevenueUsd.toLocaleString("en-US")}`;
  return `${s.use}, ${revenue}, output terms: ${s.outputTerms ?? "(policy default)"}`;
}

export function registerPolicyCommands(
  program: Command,
  tenant: Command,
  deps: PolicyCliDeps,
): void {
  const out = deps.out ?? ((line: string) => console.log(line));
  const author = (given?: string) => given ?? `cli:${userInfo().username}`;
  const policy = program
    .command("policy")
    .description("check, test, diff and change content policies");

  policy
    .command("check")
    .description("print the decision a prompt (and optionally an image) would get, and why")
    .requiredOption("--prompt <text>", "the prompt")
    .option("--tenant <name>", "decide under this tenant's policy and declarations")
    .option("--image <file>", "also screen this image with the image classifiers")
    .option(
      "--image-as <role>",
      "output (a generated image, default) or input (an edit's input photo: the real-people rule)",
      "output",
    )
    .option("--model <id>", "the model asked for (default: the backend's)")
    .option("--json", "print JSON")
    .action(
      (opts: {
        prompt: string;
        tenant?: string;
        image?: string;
        imageAs: string;
        model?: string;
        json?: boolean;
      }) =>
        withSession(deps, async (s) => {
          const store = await s.store(opts.tenant !== undefined);
          let p = store.current();
          let settings: TenantSettings | null = null;
          if (opts.tenant)
            ({ policy: p, settings } = await store.forTenant(
              await findTenant(await s.db(), opts.tenant),
            ));
          if (opts.imageAs !== "output" && opts.imageAs !== "input") {
            throw new HallmarkError("invalid_request_error", "--image-as: output or input.");
          }
          const env = await s.classifiers(opts.image !== undefined);
          const image = opts.image ? await readFile(opts.image) : undefined;
          const model = opts.model ?? defaultModelFor(deps.config);
          const check = await checkPolicy(env, p, settings, {
            prompt: opts.prompt,
            model,
            image,
            imageAs: opts.imageAs,
          });
          if (opts.json) {
            out(JSON.stringify({ ...check, policy: { id: p.id, hash: p.hash }, model }, null, 2));
            return;
          }
          const d = check.decision;
          out(
            `decision: ${d.action}${check.refusal ? ` (refused before generating: ${check.refusal.code})` : ""}`,
          );
          out(`policy:   ${p.id} ${p.hash}`);
          out(`screens:  ${check.screens.join(", ")}; model ${model}`);
          for (const [name, c] of Object.entries(d.categories)) {
            if (c.action === "allow" && c.score < 0.01) continue;
            const spans = c.spans.map((sp) => `"${sp.text}" (${sp.source}: ${sp.term})`).join(", ");
            out(
              `  ${c.action.padEnd(6)} ${name.padEnd(22)} score ${c.score.toFixed(3)}  review ≥ ${c.review}  block ≥ ${c.block}${spans ? `  ${spans}` : ""}`,
            );
          }
          for (const r of d.rules) out(`  rule   ${r.rule}: ${r.effect}`);
          for (const m of check.hashListMatches) out(`  rule   ${m}: the image matched; block`);
          if (check.people.length > 0) out(`people:   ${check.people.join(", ")}`);
          if (check.refusal) out(`refusal:  ${check.refusal.code}: ${check.refusal.message}`);
          const l = check.licence;
          if (l) {
            out(
              `licence:  ${l.known ? `${l.reference?.name} (${l.reference?.id})` : "not known"}; checked as ${l.checked_as} use`,
            );
            if (l.verdict) {
              out(
                `  ${l.verdict.allowed ? "allowed" : "NOT PERMITTED"}: ${l.verdict.reasons.join("; ")}`,
              );
              for (const o of l.verdict.obligations) out(`  obligation: ${o}`);
            }
            if (l.output_terms) out(`  output terms: ${l.output_terms}`);
          }
          if (opts.tenant) out(`tenant:   ${opts.tenant}: ${describeSettings(settings)}`);
        }),
    );

  policy
    .command("test")
    .description("run the cases in policies/tests/*.yaml; exit 1 on any mismatch")
    .option("--dir <dir>", "folder of case files", path.join(PACKAGE_ROOT, "policies/tests"))
    .option("--json", "print JSON")
    .action((opts: { dir: string; json?: boolean }) =>
      withSession(deps, async (s) => {
        const cases = await loadPolicyCases(opts.dir);
        const needsDb = cases.some((c) => c.tenant !== undefined);
        const store = await s.store(needsDb);
        const env: CaseEnv = {
          ...(await s.classifiers(cases.some((c) => c.image !== undefined))),
          base: store.base,
          tenant: async (name) => store.forTenant(await findTenant(await s.db(), name)),
        };
        const results = await runPolicyCases(env, cases);
        out(
          opts.json
            ? JSON.stringify(
                results.map((r) => ({
                  name: r.case.name,
                  file: r.case.file,
                  outcome: r.outcome,
                  mismatches: r.mismatches,
                })),
                null,
                2,
              )
            : formatCaseResults(results),
        );
        if (results.some((r) => r.mismatches.length > 0)) process.exitCode = 1;
      }),
    );

  policy
    .command("diff")
    .description("which recorded cases would change outcome between two policies")
    .requiredOption(
      "--from <ref>",
      "base | latest | a version of --tenant (3, v3) | a policy or override file",
    )
    .requiredOption("--to <ref>", "the same kinds of reference")
    .option(
      "--tenant <name>",
      "the tenant whose versions, declarations and recorded prompts to use",
    )
    .option("--recent <n>", "recorded prompts to replay (plaintext retention only)", "200")
    .option("--dir <dir>", "folder of case files", path.join(PACKAGE_ROOT, "policies/tests"))
    .option("--json", "print JSON")
    .action(
      (opts: {
        from: string;
        to: string;
        tenant?: string;
        recent: string;
        dir: string;
        json?: boolean;
      }) =>
        withSession(deps, async (s) => {
          const recent = Number(opts.recent);
          if (!Number.isInteger(recent) || recent < 0 || recent > 100_000) {
            throw new HallmarkError(
              "invalid_request_error",
              "--recent: a whole number from 0 to 100000.",
            );
          }
          const usesDb = opts.tenant !== undefined || recent > 0;
          const store = await s.store(usesDb);
          const from = await resolvePolicyRef(s, store, opts.from, opts.tenant);
          const to = await resolvePolicyRef(s, store, opts.to, opts.tenant);
          let settings: TenantSettings | null = null;
          let tenantId: string | undefined;
          if (opts.tenant) {
            const t = await findTenant(await s.db(), opts.tenant);
            tenantId = t.id;
            settings = await getTenantSettings(await s.db(), t.id);
          }
          const cases = await loadPolicyCases(opts.dir);
          const inputs = cases.map((c) => ({
            source: `${path.basename(c.file)}: ${c.name}`,
            prompt: c.prompt,
            model: c.model,
            image: c.image,
            imageAs: c.image_as,
            file: c.file,
          }));
          if (recent > 0) {
            const db = await s.db();
            const rows = await db
              .select({ id: generations.id, prompt: generations.prompt, model: generations.model })
              .from(generations)
              .where(
                and(
                  isNotNull(generations.prompt),
                  tenantId ? eq(generations.tenantId, tenantId) : undefined,
                ),
              )
              .orderBy(desc(generations.createdAt))
              .limit(recent);
            for (const r of rows)
              inputs.push({
                source: `generation ${r.id}`,
                prompt: r.prompt!,
                model: r.model,
                image: undefined,
                imageAs: "output",
                file: ".",
              });
          }
          const env: CaseEnv = {
            ...(await s.classifiers(inputs.some((i) => i.image))),
            base: store.base,
          };
          const { checked, changes } = await diffPolicies(env, from, to, inputs, settings);
          if (opts.json) {
            out(
              JSON.stringify(
                {
                  from: { id: from.id, hash: from.hash },
                  to: { id: to.id, hash: to.hash },
                  checked,
                  changes,
                },
                null,
                2,
              ),
            );
            return;
          }
          out(
            `from ${from.id} ${from.hash.slice(0, 12)} → to ${to.id} ${to.hash.slice(0, 12)}: ${checked} inputs, ${changes.length} change outcome`,
          );
          const show = (o: (typeof changes)[number]["from"]) =>
            `${o.action}${o.categories.length ? ` [${o.categories.join(", ")}]` : ""}${o.refusal ? ` refused: ${o.refusal}` : ""}`;
          for (const c of changes) {
            out(
              `  ${c.source}\n    "${c.prompt.length > 80 ? `${c.prompt.slice(0, 77)}…` : c.prompt}"\n    ${show(c.from)} → ${show(c.to)}`,
            );
          }
        }),
    );

  policy
    .command("set")
    .description("append a new version of a tenant's override (YAML or JSON, merged into its base)")
    .requiredOption("--tenant <name>", "the tenant")
    .requiredOption(
      "--file <file>",
      "the override: any part of a policy; `base: <id>` picks the base",
    )
    .option("--comment <text>", "why, for the record")
    .option("--author <name>", "who (default: cli:<user>)")
    .action((opts: { tenant: string; file: string; comment?: string; author?: string }) =>
      withSession(deps, async (s) => {
        const text = await readFile(opts.file, "utf8");
        const store = await s.store(true);
        const v = await setTenantPolicy(await s.db(), store.base, {
          tenant: opts.tenant,
          text,
          author: author(opts.author),
          comment: opts.comment,
          source: opts.file,
        });
        out(`tenant ${v.tenant}: policy v${v.version} (base ${v.base}) ${v.hash}`);
      }),
    );

  policy
    .command("versions")
    .description("a tenant's policy versions, newest first")
    .requiredOption("--tenant <name>", "the tenant")
    .action((opts: { tenant: string }) =>
      withSession(deps, async (s) => {
        for (const v of await listTenantPolicyVersions(await s.db(), opts.tenant)) {
          out(`v${v.version}\t${v.createdAt.toISOString()}\t${v.author}\t${v.hash}\t${v.comment}`);
        }
      }),
    );

  policy
    .command("show")
    .description("print a policy as YAML: the configured one, or a tenant's (latest or --version)")
    .option("--tenant <name>", "the tenant")
    .option("--version <n>", "a version of the tenant's policy")
    .action((opts: { tenant?: string; version?: string }) =>
      withSession(deps, async (s) => {
        const store = await s.store(opts.tenant !== undefined);
        const p = opts.tenant
          ? await resolvePolicyRef(s, store, opts.version ?? "latest", opts.tenant)
          : store.current();
        out(`# ${p.id} ${p.hash}`);
        out(stringify(policyContent(p)));
      }),
    );

  tenant
    .command("set <name>")
    .description("declare a tenant's use for the licence audit (only the options given change)")
    .option("--use <use>", "commercial | non-commercial")
    .option(
      "--revenue-usd <n>",
      "annual revenue in USD (licences with a revenue threshold); 'none' clears it",
    )
    .option(
      "--output-terms <text>",
      "the terms under which the tenant receives outputs; '' clears them",
    )
    .option("--author <name>", "who (default: cli:<user>)")
    .action(
      (
        name: string,
        opts: { use?: string; revenueUsd?: string; outputTerms?: string; author?: string },
      ) =>
        withSession(deps, async (s) => {
          let revenue: number | null | undefined;
          if (opts.revenueUsd !== undefined) {
            revenue =
              opts.revenueUsd === "none" ? null : Number(opts.revenueUsd.replaceAll("_", ""));
            if (revenue !== null && !/^\d[\d_]*$/.test(opts.revenueUsd)) revenue = Number.NaN;
          }
          const settings = await setTenantSettings(await s.db(), {
            tenant: name,
            use: opts.use,
            annualRevenueUsd: revenue,
            outputTerms: opts.outputTerms,
            author: author(opts.author),
          });
          out(`tenant ${name}: ${describeSettings(settings)} (revision ${settings.revision})`);
        }),
    );

  tenant
    .command("show <name>")
    .description("a tenant's declarations and policy version")
    .action((name: string) =>
      withSession(deps, async (s) => {
        const db = await s.db();
        const t = await findTenant(db, name);
        out(`tenant ${name}: ${describeSettings(await getTenantSettings(db, t.id))}`);
        const [latest] = await listTenantPolicyVersions(db, name, 1);
        out(
          latest
            ? `policy: v${latest.version} (base ${latest.base}) ${latest.hash}`
            : "policy: the configured base (no override)",
        );
      }),
    );
}
