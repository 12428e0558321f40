import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Db } from "../../db/index.js";
import { HallmarkError } from "../../errors/index.js";
import {
  findTenant,
  getTenantSettings,
  listTenantPolicyVersions,
  type PolicyStore,
  type PolicyVersion,
  setTenantPolicy,
  setTenantSettings,
  TENANT_USES,
  type TenantSettings,
} from "../../policy/index.js";
import type { AppEnv } from "../context.js";
import { errorResponses } from "../openapi.js";

const tenantParam = z.object({
  tenant: z
    .string()
    .max(63)
    .openapi({ param: { name: "tenant", in: "path" }, example: "acme" }),
});

const VersionSchema = z
  .object({
    tenant: z.string(),
    version: z.number().int(),
    base: z
      .string()
      .openapi({ description: "The base policy's id (a file in the policies folder)" }),
    base_hash: z.string(),
    hash: z.string().openapi({ description: "SHA-256 of the canonical (RFC 8785) merged policy" }),
    author: z.string(),
    comment: z.string(),
    created_at: z.string(),
    override: z.record(z.string(), z.unknown()),
    source: z.string().openapi({ description: "The override's text as submitted" }),
  })
  .openapi("TenantPolicyVersion");

const EffectiveSchema = z
  .object({
    tenant: z.string(),
    version: z.number().int().nullable().openapi({ description: "null: no override, the base" }),
    policy: z.object({ id: z.string(), hash: z.string() }),
    base: z.object({ id: z.string(), hash: z.string() }),
    effective: z.record(z.string(), z.unknown()).openapi({ description: "The merged policy" }),
    latest: VersionSchema.nullable(),
  })
  .openapi("TenantPolicy");

const SettingsSchema = z
  .object({
    tenant: z.string(),
    use: z.enum(TENANT_USES).nullable(),
    annual_revenue_usd: z.number().int().nullable(),
    output_terms: z.string().nullable(),
    revision: z.number().int(),
    updated_by: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .openapi("TenantSettings");

const adminErrors = {
  403: { description: "The key lacks the admin scope", content: errorResponses[400].content },
  404: { description: "No such tenant", content: errorResponses[400].content },
  ...errorResponses,
} as const;

function versionJson(v: PolicyVersion) {
  return {
    tenant: v.tenant,
    version: v.version,
    base: v.base,
    base_hash: v.baseHash,
    hash: v.hash,
    author: v.author,
    comment: v.comment,
    created_at: v.createdAt.toISOString(),
    override: v.override as Record<string, unknown>,
    source: v.source,
  };
}

function settingsJson(tenant: string, s: TenantSettings | null) {
  return {
    tenant,
    use: s?.use ?? null,
    annual_revenue_usd: s?.annualRevenueUsd ?? null,
    output_terms: s?.outputTerms ?? null,
    revision: s?.revision ?? 0,
    updated_by: s?.updatedBy ?? null,
    updated_at: s?.updatedAt.toISOString() ?? null,
  };
}

/**
 * The compliance officer's API for tenant policies and declarations (`admin` scope, mounted under
 * /v1/admin/*): read a tenant's effective policy, append a new override version, list versions,
 * read and set the tenant's declared use for the licence audit. The author of a change is the
 * key that made it (its id), never the key.
 */
export function registerAdminPolicy(
  app: OpenAPIHono<AppEnv>,
  deps: { db: Db; policies: PolicyStore; maxOverrideChars?: number },
): void {
  const maxChars = deps.maxOverrideChars ?? 65_536;
  const author = (c: { get(k: "principal"): { apiKeyId: string; tenantName: string } }) => {
    const p = c.get("principal");
    return `key:${p.apiKeyId} (${p.tenantName})`;
  };

  const get = createRoute({
    method: "get",
    path: "/v1/admin/tenants/{tenant}/policy",
    summary: "A tenant's effective policy (base + latest override) and its latest version",
    security: [{ bearerAuth: [] }],
    request: { params: tenantParam },
    responses: {
      200: {
        description: "The policy",
        content: { "application/json": { schema: EffectiveSchema } },
      },
      ...adminErrors,
    },
  });
  app.openapi(get, async (c) => {
    const tenant = await findTenant(deps.db, c.req.valid("param").tenant);
    deps.policies.invalidate(tenant.id);
    const { policy } = await deps.policies.forTenant(tenant);
    const [latest] = await listTenantPolicyVersions(deps.db, tenant.name, 1);
    const { hash, source: _s, tenant: t, ...content } = policy;
    return c.json(
      {
        tenant: tenant.name,
        version: t?.version ?? null,
        policy: { id: policy.id, hash },
        base: t?.base ?? { id: policy.id, hash },
        effective: content as Record<string, unknown>,
        latest: latest ? versionJson(latest) : null,
      },
      200,
    );
  });

  const put = createRoute({
    method: "put",
    path: "/v1/admin/tenants/{tenant}/policy",
    summary: "Append a new version of a tenant's policy override",
    description:
      "The override is any part of a policy (YAML or JSON text in `override_yaml`, or a JSON object in `override`), merged into the base it names (`base`, default the configured policy) and validated by the policy schema; an empty override reverts to the base. Versions are append-only.",
    security: [{ bearerAuth: [] }],
    request: {
      params: tenantParam,
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z
              .object({
                override: z.record(z.string(), z.unknown()).optional(),
                override_yaml: z.string().max(maxChars).optional(),
                comment: z.string().max(2000).optional(),
              })
              .strict()
              .openapi("TenantPolicyChange"),
          },
        },
      },
    },
    responses: {
      201: {
        description: "The new version",
        content: { "application/json": { schema: VersionSchema } },
      },
      ...adminErrors,
    },
  });
  app.openapi(put, async (c) => {
    const body = c.req.valid("json");
    if ((body.override === undefined) === (body.override_yaml === undefined)) {
      throw new HallmarkError(
        "invalid_request_error",
        "Send exactly one of override (a JSON object) or override_yaml (text).",
        { param: "override" },
      );
    }
    const text = body.override_yaml ?? JSON.stringify(body.override, null, 2);
    if (text.length > maxChars) {
      throw new HallmarkError(
        "invalid_request_error",
        `The override exceeds ${maxChars} characters.`,
        {
          param: "override",
        },
      );
    }
    const version = await setTenantPolicy(deps.db, deps.policies.base, {
      tenant: c.req.valid("param").tenant,
      text,
      author: author(c),
      comment: body.comment,
      source: "override",
    });
    const tenant = await findTenant(deps.db, version.tenant);
    deps.policies.invalidate(tenant.id);
    return c.json(versionJson(version), 201);
  });

  const versions = createRoute({
    method: "get",
    path: "/v1/admin/tenants/{tenant}/policy/versions",
    summary: "A tenant's policy versions, newest first",
    security: [{ bearerAuth: [] }],
    request: {
      params: tenantParam,
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() }),
    },
    responses: {
      200: {
        description: "Versions",
        content: {
          "application/json": {
            schema: z.object({ object: z.literal("list"), data: z.array(VersionSchema) }),
          },
        },
      },
      ...adminErrors,
    },
  });
  app.openapi(versions, async (c) => {
    const list = await listTenantPolicyVersions(
      deps.db,
      c.req.valid("param").tenant,
      c.req.valid("query").limit ?? 100,
    );
    return c.json({ object: "list" as const, data: list.map(versionJson) }, 200);
  });

  const getSettings = createRoute({
    method: "get",
    path: "/v1/admin/tenants/{tenant}/settings",
    summary: "What a tenant declares for the licence audit",
    security: [{ bearerAuth: [] }],
    request: { params: tenantParam },
    responses: {
      200: {
        description: "Declarations",
        content: { "application/json": { schema: SettingsSchema } },
      },
      ...adminErrors,
    },
  });
  app.openapi(getSettings, async (c) => {
    const tenant = await findTenant(deps.db, c.req.valid("param").tenant);
    return c.json(settingsJson(tenant.name, await getTenantSettings(deps.db, tenant.id)), 200);
  });

  const putSettings = createRoute({
    method: "put",
    path: "/v1/admin/tenants/{tenant}/settings",
    summary: "Set what a tenant declares (use, annual revenue, output terms)",
    security: [{ bearerAuth: [] }],
    request: {
      params: tenantParam,
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z
              .object({
                use: z.enum(TENANT_USES).optional(),
                annual_revenue_usd: z
                  .number()
                  .int()
                  .min(0)
                  .max(Number.MAX_SAFE_INTEGER)
                  .nullable()
                  .optional(),
                output_terms: z.string().max(1000).nullable().optional(),
              })
              .strict()
              .openapi("TenantSettingsChange"),
          },
        },
      },
    },
    responses: {
      200: {
        description: "Declarations",
        content: { "application/json": { schema: SettingsSchema } },
      },
      ...adminErrors,
    },
  });
  app.openapi(putSettings, async (c) => {
    const body = c.req.valid("json");
    const name = c.req.valid("param").tenant;
    const s = await setTenantSettings(deps.db, {
      tenant: name,
      use: body.use,
      annualRevenueUsd: body.annual_revenue_usd,
      outputTerms: body.output_terms,
      author: author(c),
    });
    const tenant = await findTenant(deps.db, name);
    deps.policies.invalidate(tenant.id);
    return c.json(settingsJson(name, s), 200);
  });
}
