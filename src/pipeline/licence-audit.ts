import type { Category } from "../classify/categories.js";
import { type LicenceRegistry, licenceReference, type Policy } from "../policy/index.js";

/** The licence under which an output was made and handed over, as recorded and signed. */
export interface LicenceAudit {
  /** False when the registry does not know the model's licence: said as such, never guessed. */
  known: boolean;
  /** What the manifest states (the model's licence, or the policy's default when unknown). */
  statement: { name: string; url: string; usageTerms?: string };
  reference: ReturnType<typeof licenceReference> | null;
  commercial_use: string | null;
  /** The licence's use restrictions checked against the categories the screens flagged. */
  verdict: { allowed: boolean; reasons: string[]; obligations: string[] } | null;
  registry_hash: string | null;
}

/**
 * Looks up the model's licence in the registry (policies/licences) and checks the request's
 * flagged categories against its use restrictions. Commercial use is not decided here: tenants
 * do not declare it yet, so the verdict covers the content restrictions only.
 */
export function licenceAudit(
  registry: LicenceRegistry | undefined,
  policy: Policy,
  modelId: string,
  flagged: readonly Category[],
): LicenceAudit {
  const fallback = {
    name: policy.licence.name,
    url: policy.licence.url,
    usageTerms: policy.licence.usage_terms,
  };
  const licence = registry?.licenceFor(modelId) ?? null;
  if (!registry || !licence) {
    return {
      known: false,
      statement: fallback,
      reference: null,
      commercial_use: null,
      verdict: null,
      registry_hash: registry?.hash ?? null,
    };
  }
  return {
    known: true,
    statement: {
      name: licence.name,
      url: licence.source_url,
      usageTerms: policy.licence.usage_terms,
    },
    reference: licenceReference(licence),
    commercial_use: licence.commercial_use.status,
    verdict: registry.checkUse(licence, { commercial: false, categories: flagged }),
    registry_hash: registry.hash,
  };
}
