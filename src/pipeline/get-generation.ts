import { findGeneration } from "../audit/index.js";
import type { Db } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import type { Principal } from "../tenants/index.js";

/**
 * A generation as its owner sees it. Another tenant's generation is `not_found`, not forbidden:
 * ids must not be confirmable across tenants.
 */
export async function getGeneration(db: Db, principal: Principal, id: string) {
  const found = /^[0-9a-f-]{36}$/i.test(id) ? await findGeneration(db, id) : null;
  if (!found || found.generation.tenantId !== principal.tenantId) {
    throw new HallmarkError("not_found", `No generation ${id}.`, { param: "id" });
  }
  const g = found.generation;
  return {
    id: g.id,
    created_at: g.createdAt.toISOString(),
    kind: g.kind,
    status: g.status,
    user: g.endUser,
    prompt: g.prompt,
    prompt_sha256: g.promptSha256,
    prompt_retention: g.promptRetention,
    params: g.params,
    model: g.model,
    backend: g.backend,
    action: g.action,
    decision: g.decision,
    stages: g.stages,
    error_code: g.errorCode,
    images: found.images.map((i) => ({
      index: i.index,
      sha256: i.sha256,
      media_type: i.mediaType,
      width: i.width,
      height: i.height,
      bytes: i.bytes,
      seed: i.seed,
      marks: i.marks,
    })),
  };
}
