export {
  type Action,
  type CategoryDecision,
  type Decision,
  decide,
  publicSummary,
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
export { loadPolicyFile, type Policy, parsePolicy } from "./load.js";
export type { PolicyFile } from "./schema.js";
