export {
  type Action,
  type CategoryDecision,
  type Decision,
  decide,
  publicSummary,
} from "./decide.js";
export { loadPolicyFile, type Policy, parsePolicy } from "./load.js";
export type { PolicyFile } from "./schema.js";
