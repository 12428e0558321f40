/**
 * The policies in force: the base policies (files in the policies folder, reloaded atomically on
 * SIGHUP or a file change) and each tenant's effective policy (base + the tenant's latest
 * override from the database) with the tenant's declarations.
 *
 * Caching across replicas: each replica caches a tenant's effective policy and declarations,
 * keyed by (policy version, settings revision, base hash). A cached entry younger than `cacheMs`
 * is used as is; an older one is revalidated with one cheap query (`tenantStamp`: the latest
 * version number and settings revision, two index lookups) and rebuilt only when they changed.
 * A change made through this replica (`hallmark policy set` runs elsewhere) clears its entry at
 * once; other replicas see it within `cacheMs` (default 1 s; 0 checks on every request).
 */
import { type FSWatcher, watch } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Db } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import { type Policy, parsePolicy } from "./load.js";
import { effectivePolicy, mergePolicy } from "./merge.js";
import {
  getTenantPolicyVersion,
  getTenantSettings,
  latestTenantVersions,
  type TenantSettings,
  tenantStamp,
} from "./tenant-store.js";

export interface PolicyLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface TenantPolicy {
  policy: Policy;
  /** The tenant's declarations; null when it has declared nothing. */
  settings: TenantSettings | null;
}

export interface PolicyStore {
  /** The configured policy, as now in force (the base of tenants without an override). */
  current(): Policy;
  /** A base policy by id (absent: the configured one); `not_found` names those that exist. */
  base(id?: string): Policy;
  bases(): Policy[];
  /** The tenant's effective policy and declarations (cached, see the file's comment). */
  forTenant(tenant: { id: string; name: string }): Promise<TenantPolicy>;
  /** Forgets a tenant's cached entry (after a change through this replica). */
  invalidate(tenantId?: string): void;
  /**
   * Reloads every base policy from disk. All or nothing: a file that does not parse, or a new
   * base that a tenant's latest override no longer merges into, is logged and rejected, and the
   * policies in force stay. Answers whether the new files were taken.
   */
  reload(reason?: string): Promise<{ ok: boolean; error?: string }>;
  /** Watches the policy files and reloads on change (debounced). Returns the stop function. */
  watch(debounceMs?: number): () => void;
  /** Told after each successful reload (e.g. to hand the new policy to other services). */
  onReload(listener: (current: Policy) => void): void;
}

/**
 * Loads the policies folder of `policyFile`: the configured file and every other `*.yaml` beside
 * it. The configured file must parse (a `config_error` stops the start); another file that does
 * not is logged and left out.
 */
async function loadBases(
  policyFile: string,
  logger: PolicyLogger,
): Promise<{ current: Policy; byId: Map<string, Policy> }> {
  const text = await readFile(policyFile, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new HallmarkError(
      "config_error",
      `${policyFile}: cannot read policy file (${e.code ?? e.message})`,
    );
  });
  const current = parsePolicy(text, policyFile);
  const byId = new Map<string, Policy>([[current.id, current]]);
  const dir = path.dirname(policyFile);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.sort()) {
    const file = path.join(dir, name);
    if (!/\.ya?ml$/.test(name) || path.resolve(file) === path.resolve(policyFile)) continue;
    try {
      const p = parsePolicy(await readFile(file, "utf8"), file);
      if (byId.has(p.id)) {
        logger.warn("policy id used twice; the first file wins", { file, id: p.id });
        continue;
      }
      byId.set(p.id, p);
    } catch (error) {
      logger.warn("not a valid policy file; left out of the base policies", {
        file,
        error: (error as Error).message,
      });
    }
  }
  return { current, byId };
}

interface CacheEntry {
  checkedAt: number;
  version: number;
  revision: number;
  baseHash: string;
  value: TenantPolicy;
}

/**
 * Builds the store. `db` is optional for tools that only read files (then every tenant gets the
 * configured policy and no declarations).
 */
export async function createPolicyStore(options: {
  policyFile: string;
  db?: Db;
  logger: PolicyLogger;
  cacheMs?: number;
  now?: () => number;
}): Promise<PolicyStore> {
  const { policyFile, db, logger } = options;
  const cacheMs = options.cacheMs ?? 1000;
  const now = options.now ?? Date.now;
  let state = await loadBases(policyFile, logger);
  const cache = new Map<string, CacheEntry>();
  const listeners: Array<(p: Policy) => void> = [];

  const base = (id?: string): Policy => {
    if (id === undefined) return state.current;
    const p = state.byId.get(id);
    if (!p) {
      throw new HallmarkError(
        "not_found",
        `No base policy "${id}"; the policies folder has: ${[...state.byId.keys()].join(", ")}.`,
        { param: "base" },
      );
    }
    return p;
  };

  async function build(
    tenant: { id: string; name: string },
    version: number,
    bases: typeof state,
  ): Promise<Policy> {
    if (!db || version === 0) return bases.current;
    const v = await getTenantPolicyVersion(db, tenant.id, tenant.name, version);
    if (!v) return bases.current;
    const b = bases.byId.get(v.base);
    if (!b) {
      throw new HallmarkError(
        "config_error",
        `Tenant ${tenant.name}'s policy v${version} is based on "${v.base}", which is not in the policies folder.`,
      );
    }
    const content = mergePolicy(b, v.override, `tenant ${tenant.name} v${version}`);
    return effectivePolicy(b, content, { id: tenant.id, name: tenant.name, version });
  }

  const store: PolicyStore = {
    current: () => state.current,
    base,
    bases: () => [...state.byId.values()],
    invalidate(tenantId) {
      if (tenantId === undefined) cache.clear();
      else cache.delete(tenantId);
    },
    async forTenant(tenant) {
      if (!db) return { policy: state.current, settings: null };
      const t = now();
      const hit = cache.get(tenant.id);
      const baseHash = state.current.hash;
      if (hit && hit.baseHash === baseHash && t - hit.checkedAt < cacheMs) return hit.value;
      const stamp = await tenantStamp(db, tenant.id);
      if (
        hit &&
        hit.baseHash === baseHash &&
        hit.version === stamp.version &&
        hit.revision === stamp.revision
      ) {
        hit.checkedAt = t;
        return hit.value;
      }
      const [policy, settings] = await Promise.all([
        build(tenant, stamp.version, state),
        stamp.revision === 0 ? Promise.resolve(null) : getTenantSettings(db, tenant.id),
      ]);
      const value = { policy, settings };
      cache.set(tenant.id, { checkedAt: t, ...stamp, baseHash, value });
      return value;
    },
    async reload(reason = "reload") {
      try {
        const next = await loadBases(policyFile, logger);
        // Every tenant's latest override must still merge into its (new) base.
        if (db) {
          const list = await latestTenantVersions(db);
          for (const r of list) await build(r, Number(r.version), next);
        }
        const previous = state.current.hash;
        state = next;
        cache.clear();
        logger.info("policies reloaded", {
          reason,
          policy: next.current.id,
          policy_hash: next.current.hash,
          changed: previous !== next.current.hash,
          bases: [...next.byId.keys()],
        });
        for (const l of listeners) l(next.current);
        return { ok: true };
      } catch (error) {
        const message = (error as Error).message;
        logger.error("policy reload rejected; the policies in force stay", {
          reason,
          error: message,
          policy: state.current.id,
          policy_hash: state.current.hash,
        });
        return { ok: false, error: message };
      }
    },
    watch(debounceMs = 250) {
      let timer: NodeJS.Timeout | undefined;
      let watcher: FSWatcher | undefined;
      try {
        watcher = watch(path.dirname(policyFile), { persistent: false }, (_event, name) => {
          if (name && !/\.ya?ml$/.test(String(name))) return;
          clearTimeout(timer);
          timer = setTimeout(() => void store.reload(`file change: ${name ?? "?"}`), debounceMs);
        });
        watcher.on("error", (error) =>
          logger.warn("policy folder watch failed; reload with SIGHUP", { error: String(error) }),
        );
      } catch (error) {
        logger.warn("cannot watch the policy folder; reload with SIGHUP", {
          error: String(error),
        });
      }
      return () => {
        clearTimeout(timer);
        watcher?.close();
      };
    },
    onReload(listener) {
      listeners.push(listener);
    },
  };
  return store;
}
