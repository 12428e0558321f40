export {
  type AuthThrottle,
  type AuthThrottleOptions,
  createAuthThrottle,
  lookUpKey,
} from "./auth-throttle.js";
export { BOOTSTRAP_TENANT, bootstrapIfEmpty } from "./bootstrap.js";
export { type Authenticate, cachedAuthenticate, type KeyCacheOptions } from "./key-cache.js";
export {
  type ApiKeyInfo,
  authenticate,
  createApiKey,
  DEFAULT_SCOPES,
  hashKey,
  KEY_PREFIX,
  listApiKeys,
  type Principal,
  revokeApiKey,
  SCOPES,
  type Scope,
} from "./keys.js";
export {
  MAX_SCOPE_TENANTS,
  parseTenantList,
  resolveTenantScope,
  scopeNames,
  tenantNamesById,
} from "./tenant-scope.js";
export {
  createTenant,
  listTenants,
  TENANT_NAME_RE,
  type TenantInfo,
  tenantCount,
} from "./tenants.js";
