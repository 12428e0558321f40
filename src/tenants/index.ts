export { BOOTSTRAP_TENANT, bootstrapIfEmpty } from "./bootstrap.js";
export {
  type ApiKeyInfo,
  authenticate,
  createApiKey,
  hashKey,
  KEY_PREFIX,
  listApiKeys,
  type Principal,
  revokeApiKey,
} from "./keys.js";
export { createTenant, listTenants, type TenantInfo, tenantCount } from "./tenants.js";
