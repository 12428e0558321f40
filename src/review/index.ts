/**
 * The compliance reviewers' workspace (docs/review.md): server-rendered pages under /review
 * for the queue of held and blocked requests, item pages with audited decisions, search, export
 * and reviewer accounts with roles.
 */

export { parseTenantList } from "../tenants/index.js";
export {
  createReviewer,
  listReviewers,
  REVIEWER_ROLES,
  type ReviewerInfo,
  type ReviewerRole,
  setReviewerDisabled,
  setReviewerPassword,
  setReviewerTenants,
} from "./accounts.js";
export { MAX_NOTE_LENGTH, REVIEW_DECISIONS, type ReviewDecision, recordReview } from "./decide.js";
export { type ReviewOptions, reviewApp } from "./routes.js";
export { parseFilter, type SearchFilter, searchAll } from "./search.js";
export { REVIEW_SCOPE, SESSION_COOKIE, SESSION_TTL_S } from "./session.js";
