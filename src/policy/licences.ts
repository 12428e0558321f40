import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Category } from "../classify/categories.js";
import { HallmarkError } from "../errors/index.js";
import {
  type LicenceFile,
  licenceFileSchema,
  type ModelsFile,
  modelsFileSchema,
} from "./licence-schema.js";
import { lineOf, type Parsed, parseYaml } from "./yaml.js";

export type { UseRestriction } from "./licence-schema.js";

/** The reserved licence id for "not known": `licenceFor` answers null, never a guess. */
export const UNKNOWN_LICENCE = "unknown";

/** A loaded licence: the file's content, where it came from and the SHA-256 of its bytes. */
export interface Licence extends LicenceFile {
  source: string;
  hash: string;
}

/** How a tenant means to use a model's output. */
export interface LicenceUse {
  /** The tenant's declared use (tenant settings). */
  commercial: boolean;
  /** The categories that fired for this request (e.g. the decision's `fired`). */
  categories: readonly Category[];
  /** The tenant's declared annual revenue, for licences with a revenue threshold. */
  annualRevenueUsd?: number;
}

/** The compatibility verdict of one use under one licence. */
export interface LicenceVerdict {
  allowed: boolean;
  /** Why: every refusal reason, or the grounds of an allowance. Human-readable, reviewer-safe. */
  reasons: string[];
  /** What the user must still do when allowed (attribution, conditions). */
  obligations: string[];
}

export interface LicenceRegistry {
  /** The licence of a model: exact id first, then patterns in file order, then the default. Null: not known. */
  licenceFor(modelId: string): Licence | null;
  get(id: string): Licence | null;
  all(): Licence[];
  checkUse(licence: Licence, use: LicenceUse): LicenceVerdict;
  /** SHA-256 over every file of the registry (sorted by name), to record which registry decided. */
  readonly hash: string;
}

/** Parses and validates one licence file's text. */
export function parseLicence(text: string, source: string): Licence {
  const { data } = parseYaml(text, source, licenceFileSchema, "licence file");
  return { ...data, source, hash: createHash("sha256").update(text).digest("hex") };
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .toLowerCase()
    .split("*")
    .map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`);
}

/** Model ids are compared case-insensitively; a trailing file extension (.safetensors, .ckpt, ...) is ignored. */
export function normaliseModelId(modelId: string): string {
  return modelId
    .trim()
    .toLowerCase()
    .replace(/\.(safetensors|ckpt|pt|pth|bin|gguf)$/, "");
}

/**
 * Decides whether a use is compatible with a licence. Refuses a commercial use of a licence
 * that does not allow it, a commercial use beyond a revenue threshold (or with no valid revenue
 * declared), and any fired category that falls under one of the licence's use restrictions
 * (quoting the restriction and where it is in the licence).
 */
export function checkUse(licence: Licence, use: LicenceUse): LicenceVerdict {
  const refusals: string[] = [];
  const grounds: string[] = [];
  const obligations: string[] = [];
  const cu = licence.commercial_use;

  if (use.commercial) {
    if (cu.status === "not_allowed") {
      refusals.push(`${licence.name} does not allow commercial use: ${cu.conditions}`);
    } else {
      const t = licence.revenue_threshold;
      if (t) {
        const money = (n: number) => `${t.currency} ${n.toLocaleString("en-US")}`;
        const bound =
          t.exceeded_when === "more_than" ? `up to ${money(t.amount)}` : `below ${money(t.amount)}`;
        const revenue = use.annualRevenueUsd;
        if (revenue === undefined || !Number.isFinite(revenue) || revenue < 0) {
          refusals.push(
            `${licence.name} covers commercial use only for annual revenue ${bound}, and the tenant's annual revenue is not declared`,
          );
        } else if (t.exceeded_when === "more_than" ? revenue > t.amount : revenue >= t.amount) {
          refusals.push(
            `${licence.name} covers commercial use only for annual revenue ${bound} (declared: ${money(revenue)}): ${t.text}`,
          );
        } else {
          grounds.push(
            `commercial use covered for annual revenue ${bound} (declared: ${money(revenue)})`,
          );
        }
      } else {
        grounds.push(`${licence.name} allows commercial use`);
      }
      if (cu.status === "restricted") obligations.push(cu.conditions);
    }
  } else {
    grounds.push("non-commercial use");
  }

  const fired = new Set(use.categories);
  for (const r of licence.use_restrictions) {
    const hit = r.categories.filter((c) => fired.has(c));
    const applies =
      r.match === "all" ? hit.length > 0 && hit.length === r.categories.length : hit.length > 0;
    if (applies) {
      refusals.push(`${licence.name}, ${r.ref}: "${r.text}" (category ${hit.join(", ")})`);
    }
  }
  if (licence.attribution.required) obligations.push(licence.attribution.text);

  if (refusals.length > 0) return { allowed: false, reasons: refusals, obligations: [] };
  if (licence.use_restrictions.length > 0) {
    grounds.push(
      `no fired category falls under the licence's ${licence.use_restrictions.length} use restrictions`,
    );
  }
  return { allowed: true, reasons: grounds, obligations };
}

/**
 * Loads the licence registry from a directory: every `*.yaml` but `models.yaml` is a licence
 * (its file name must be `<id>.yaml`), and `models.yaml` maps model ids to licence ids. Every
 * mistake is a `config_error` with the file, line and what was expected.
 */
export async function loadLicenceRegistry(dir: string): Promise<LicenceRegistry> {
  const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
    throw new HallmarkError(
      "config_error",
      `${dir}: cannot read licence directory (${e.code ?? e.message})`,
    );
  });
  const files = names.filter((n) => /\.ya?ml$/.test(n)).sort();
  const texts = new Map<string, string>();
  for (const name of files) {
    const file = join(dir, name);
    texts.set(
      name,
      await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
        throw new HallmarkError("config_error", `${file}: cannot read (${e.code ?? e.message})`);
      }),
    );
  }
  return buildLicenceRegistry(dir, texts);
}

/** Builds a registry from file texts keyed by file name (for tests and for reload without I/O). */
export function buildLicenceRegistry(dir: string, texts: Map<string, string>): LicenceRegistry {
  const licences = new Map<string, Licence>();
  let models: Parsed<ModelsFile> | undefined;
  let modelsSource = join(dir, "models.yaml");
  const hash = createHash("sha256");
  for (const name of [...texts.keys()].sort()) {
    const text = texts.get(name)!;
    const source = join(dir, name);
    hash.update(`${name}\0${text}\0`);
    if (/^models\.ya?ml$/.test(name)) {
      models = parseYaml(text, source, modelsFileSchema, "model licence map");
      modelsSource = source;
      continue;
    }
    const licence = parseLicence(text, source);
    const expected = name.replace(/\.ya?ml$/, "");
    if (licence.id !== expected) {
      throw new HallmarkError(
        "config_error",
        `${source}:1: id: expected "${expected}" (the file name), found "${licence.id}"`,
      );
    }
    if (licence.id === UNKNOWN_LICENCE) {
      throw new HallmarkError(
        "config_error",
        `${source}:1: id: "${UNKNOWN_LICENCE}" is reserved for models whose licence is not known`,
      );
    }
    licences.set(licence.id, licence);
  }
  if (!models) {
    throw new HallmarkError("config_error", `${modelsSource}: missing (the model licence map)`);
  }

  const { data, doc, lineCounter } = models;
  const missing = (id: string, path: Array<string | number>) => {
    if (id === UNKNOWN_LICENCE || licences.has(id)) return;
    const line = lineOf(doc, lineCounter, path);
    throw new HallmarkError(
      "config_error",
      `${modelsSource}${line === undefined ? "" : `:${line}`}: ${path.join(".")}: expected one of the licence ids (${[...licences.keys()].join(", ")}) or "${UNKNOWN_LICENCE}", found "${id}"`,
    );
  };
  missing(data.default, ["default"]);
  const exact = new Map<string, string>();
  for (const [model, id] of Object.entries(data.models)) {
    missing(id, ["models", model]);
    exact.set(normaliseModelId(model), id);
  }
  const patterns = data.patterns.map((p, i) => {
    missing(p.licence, ["patterns", i, "licence"]);
    return { re: globToRegExp(p.match), id: p.licence };
  });

  const get = (id: string) => licences.get(id) ?? null;
  return {
    hash: hash.digest("hex"),
    get,
    all: () => [...licences.values()],
    checkUse,
    licenceFor(modelId: string) {
      const m = normaliseModelId(modelId);
      const id = exact.get(m) ?? patterns.find((p) => p.re.test(m))?.id ?? data.default;
      return get(id);
    },
  };
}

/** The licence as the C2PA manifest and the generation's params carry it (`policy.licence`'s shape). */
export function licenceReference(licence: Licence): {
  id: string;
  name: string;
  url: string;
  version: string;
  spdx?: string;
} {
  return {
    id: licence.id,
    name: licence.name,
    url: licence.source_url,
    version: licence.version,
    ...(licence.spdx ? { spdx: licence.spdx } : {}),
  };
}
