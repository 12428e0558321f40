import type { Principal } from "../tenants/index.js";
import type { PipelineDeps } from "./deps.js";
import { licenceAudit, licenceRefusal } from "./licence-audit.js";
import { type PipelineRun, refuseRequest } from "./run.js";

/**
 * The dependencies of one request with its tenant's effective policy (base + the tenant's
 * latest override) and declarations in place of the configured policy, so that every stage
 * after this decides, records and signs under the tenant's policy id and hash.
 */
export async function withTenantPolicy(
  deps: PipelineDeps,
  principal: Principal,
): Promise<PipelineDeps> {
  if (!deps.policies) return deps;
  const { policy, settings } = await deps.policies.forTenant({
    id: principal.tenantId,
    name: principal.tenantName,
  });
  return { ...deps, policy, declared: settings };
}

/**
 * Before generating (after the prompt screen): the model's licence must permit this tenant's
 * declared use, or the request is refused with 403 `licence_not_permitted` and the verdict's
 * reasons, recorded in the audit (the licence audit in the row's params) before it is thrown.
 * The licence is checked again in finish.ts on the model the backend reports having used.
 */
export async function licenceGate(run: PipelineRun): Promise<void> {
  const { deps, request } = run;
  const model = request.model ?? deps.generator.defaultModel;
  const audit = licenceAudit(
    deps.licences,
    deps.policy,
    model,
    run.decision.fired,
    deps.declared ?? null,
  );
  if (audit.verdict && !audit.verdict.allowed) {
    run.base.params.licence = audit;
    await refuseRequest(run, licenceRefusal(audit));
  }
}
