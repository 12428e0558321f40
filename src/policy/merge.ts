import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { HallmarkError } from "../errors/index.js";
import { type Policy, policyContent } from "./load.js";
import {
  type PolicyFile,
  type PolicyOverride,
  policyFileSchema,
  policyOverrideSchema,
} from "./schema.js";
import { lineOf, type Parsed, parseYaml } from "./yaml.js";

/** SHA-256 of the canonical (RFC 8785) JSON of a policy's content: the same content, the same hash. */
export function contentHash(content: PolicyFile): string {
  return createHash("sha256")
    .update(canonicalize(content) ?? "")
    .digest("hex");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars replace; `rules` merge by id. */
function deepMerge(base: unknown, over: unknown, path: string[]): unknown {
  if (over === undefined) return base;
  if (path.length === 1 && path[0] === "rules" && Array.isArray(base) && Array.isArray(over)) {
    const out = [...(base as Array<{ id?: unknown }>)];
    for (const rule of over as Array<{ id?: unknown }>) {
      const at = out.findIndex((r) => r.id === rule.id);
      if (at >= 0) out[at] = rule;
      else out.push(rule);
    }
    return out;
  }
  if (isObject(base) && isObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v, [...path, k]);
    return out;
  }
  return over;
}

/** Parses and validates an override's text (YAML or JSON); mistakes name the line. */
export function parseOverride(text: string, source: string): Parsed<PolicyOverride> {
  return parseYaml(text, source, policyOverrideSchema, "policy override");
}

/**
 * Merges a validated override into its base and validates the result with the policy schema.
 * `parsed` (when the override came from text) lets errors name the override's line.
 */
export function mergePolicy(
  base: Policy,
  override: PolicyOverride,
  source: string,
  parsed?: Parsed<PolicyOverride>,
): PolicyFile {
  const { base: _b, ...parts } = override;
  const content = policyContent(base);
  // An override on a tenant's effective policy (a policy test case with `tenant` and `override`)
  // keeps the base file's id: "default+acme.v3" names a version, it is not a policy file's id.
  if (base.tenant) content.id = base.tenant.base.id;
  const merged = deepMerge(content, parts, []);
  const result = policyFileSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path as Array<string | number>;
      const line = parsed ? lineOf(parsed.doc, parsed.lineCounter, path) : undefined;
      const where = line === undefined ? source : `${source}:${line}`;
      return `${where}: ${path.join(".") || "(top level)"}: ${issue.message}`;
    });
    throw new HallmarkError(
      "invalid_request_error",
      `Invalid policy override (merged into base "${base.id}"):\n  ${lines.join("\n  ")}`,
      { param: "policy" },
    );
  }
  return result.data;
}

/** A tenant's effective policy: the merged content, its canonical hash and where it came from. */
export function effectivePolicy(
  base: Policy,
  content: PolicyFile,
  tenant: { id: string; name: string; version: number },
): Policy {
  return {
    ...content,
    id: `${base.id}+${tenant.name}.v${tenant.version}`,
    hash: contentHash(content),
    source: `${base.source} + tenant ${tenant.name} v${tenant.version}`,
    tenant: { ...tenant, base: { id: base.id, hash: base.hash } },
  };
}
