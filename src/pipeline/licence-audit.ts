import type { Category } from "../classify/categories.js";
import { HallmarkError } from "../errors/index.js";
import {
  type LicenceRegistry,
  licenceReference,
  type Policy,
  type TenantSettings,
} from "../policy/index.js";

/** What the tenant declared, as the audit records it (null fields: not declared). */
export interface DeclaredUse {
  use: "commercial" | "non-commercial" | null;
  annual_revenue_usd: number | null;
  output_terms: string | null;
}

/** The licence under which an output was made and handed over, as recorded and signed. */
export interface LicenceAudit {
  /** False when the registry does not know the model's licence: said as such, never guessed. */
  known: boolean;
  model: string;
  /** What the manifest states (the model's licence, or the policy's default when unknown). */
  statement: { name: string; url: string; usageTerms?: string };
  reference: ReturnType<typeof licenceReference> | null;
  commercial_use: string | null;
  /** The tenant's declarations, and the use the verdict was checked for. */
  declared: DeclaredUse;
  checked_as: "commercial" | "non-commercial";
  /** The terms under which the tenant receives the output (tenant setting, else the policy's). */
  output_terms: string | null;
  /** The verdict: the licence's commercial terms and use restrictions against this request. */
  verdict: { allowed: boolean; reasons: string[]; obligations: string[] } | null;
  registry_hash: string | null;
}

/**
 * Looks up the model's licence in the registry (policies/licences) and checks the tenant's
 * declared use (commercial or not, annual revenue; src/policy/tenant-store.ts) and the request's
 * flagged categories against it. A tenant that has declared nothing is checked as the policy's
 * `licence.undeclared_use` says (commercial by default: a use is not assumed to be
 * non-commercial). The statement the manifest signs carries the output terms and the verdict.
 */
export function licenceAudit(
  registry: LicenceRegistry | undefined,
  policy: Policy,
  modelId: string,
  flagged: readonly Category[],
  settings: TenantSettings | null = null,
): LicenceAudit {
  const declared: DeclaredUse = {
    use: settings?.use ?? null,
    annual_revenue_usd: settings?.annualRevenueUsd ?? null,
    output_terms: settings?.outputTerms ?? null,
  };
  const checkedAs = settings?.use ?? policy.licence.undeclared_use;
  const outputTerms = settings?.outputTerms ?? policy.licence.usage_terms ?? null;
  const licence = registry?.licenceFor(modelId) ?? null;
  if (!registry || !licence) {
    return {
      known: false,
      model: modelId,
      statement: {
        name: policy.licence.name,
        url: policy.licence.url,
        ...(outputTerms ? { usageTerms: `${outputTerms}. The model's licence is not known.` } : {}),
      },
      reference: null,
      commercial_use: null,
      declared,
      checked_as: checkedAs,
      output_terms: outputTerms,
      verdict: null,
      registry_hash: registry?.hash ?? null,
    };
  }
  const verdict = registry.checkUse(licence, {
    commercial: checkedAs === "commercial",
    categories: flagged,
    annualRevenueUsd: settings?.annualRevenueUsd ?? undefined,
  });
  const summary = `Licence check (${checkedAs} use): ${verdict.allowed ? "allowed" : "not permitted"}: ${verdict.reasons.join("; ")}`;
  return {
    known: true,
    model: modelId,
    statement: {
      name: licence.name,
      url: licence.source_url,
      usageTerms: outputTerms ? `${outputTerms}. ${summary}` : summary,
    },
    reference: licenceReference(licence),
    commercial_use: licence.commercial_use.status,
    declared,
    checked_as: checkedAs,
    output_terms: outputTerms,
    verdict,
    registry_hash: registry.hash,
  };
}

/** The error a request gets when the model's licence does not allow this tenant's use (403). */
export function licenceRefusal(audit: LicenceAudit): HallmarkError {
  return new HallmarkError(
    "licence_not_permitted",
    `The licence of model "${audit.model}" (${audit.reference?.name ?? "unknown"}) does not permit this request for this tenant's ${audit.checked_as} use: ${audit.verdict?.reasons.join("; ") ?? ""}`,
    {
      param: "model",
      details: {
        licence: {
          id: audit.reference?.id ?? null,
          name: audit.reference?.name ?? null,
          url: audit.reference?.url ?? null,
          checked_as: audit.checked_as,
          allowed: false,
          reasons: audit.verdict?.reasons ?? [],
        },
      },
    },
  );
}

/** The licence part of the API response: the verdict and the terms, without the registry hash. */
export function licenceSummary(audit: LicenceAudit): Record<string, unknown> {
  return {
    known: audit.known,
    id: audit.reference?.id ?? null,
    name: audit.statement.name,
    url: audit.statement.url,
    checked_as: audit.checked_as,
    allowed: audit.verdict?.allowed ?? null,
    reasons: audit.verdict?.reasons ?? [],
    obligations: audit.verdict?.obligations ?? [],
    output_terms: audit.output_terms,
  };
}
