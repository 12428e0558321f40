export {
  type Action,
  type CategoryDecision,
  type Decision,
  decide,
  publicSummary,
  type Screen,
} from "./decide.js";
export {
  checkUse,
  type Licence,
  type LicenceRegistry,
  type LicenceVerdict,
  licenceReference,
  loadLicenceRegistry,
  UNKNOWN_LICENCE,
} from "./licences.js";
export { loadPolicyFile, type Policy, parsePolicy, policyContent } from "./load.js";
export { contentHash, effectivePolicy, mergePolicy, parseOverride } from "./merge.js";
export { applyRules, type FiredRule, type ScreenText } from "./rules.js";
export type { FailureStage, PolicyFile, PolicyOverride, TextRule } from "./schema.js";
export {
  createPolicyStore,
  type PolicyLogger,
  type PolicyStore,
  type TenantPolicy,
} from "./store.js";
export {
  findTenant,
  getTenantPolicyVersion,
  getTenantSettings,
  listTenantPolicyVersions,
  type PolicyVersion,
  setTenantPolicy,
  setTenantSettings,
  TENANT_USES,
  type TenantSettings,
  type TenantUse,
} from "./tenant-store.js";
