import { servedModels } from "../generate/index.js";
import type { Principal } from "../tenants/index.js";
import type { PipelineDeps } from "./deps.js";
import { modelAllowed } from "./policy-check.js";
import { withTenantPolicy } from "./tenant-policy.js";

export interface ListedModel {
  id: string;
  /** The backend that serves it (the backends file's name, or the one backend's kind). */
  backend: string;
  /** The model of a request that names none. */
  default: boolean;
}

/**
 * The models this tenant can ask for (`GET /v1/models`): those a configured backend serves
 * and its policy's `models.allow` admits, so the list never names a model that would be
 * refused with `model_not_found` or `model_not_allowed`.
 */
export async function listModels(deps: PipelineDeps, principal: Principal): Promise<ListedModel[]> {
  const { policy } = await withTenantPolicy(deps, principal);
  return servedModels(deps.generator)
    .filter((m) => modelAllowed(policy, m.id))
    .map((m) => ({ ...m, default: m.id === deps.generator.defaultModel }));
}
