import type { Delivery } from "../../jobs/index.js";
import type { GenerationResult } from "../../pipeline/index.js";
import type { Principal } from "../../tenants/index.js";

/** The 202 body of a held request (`GenerationAccepted` with status "held"). */
export interface HeldBody {
  id: string;
  object: "generation";
  status: "held";
  location: string;
}

/**
 * Keeps a held request's images sealed in the output store for the reviewer (docs/async.md,
 * Review holds) and gives the 202 body that points at the generation. The images are never
 * returned here: only `GET /v1/generations/{id}` after an approval serves them.
 */
export async function keepHeld(
  delivery: Delivery,
  principal: Principal,
  result: GenerationResult,
  webhookUrl: string | undefined,
): Promise<HeldBody> {
  await delivery.hold({
    id: result.id,
    tenantId: principal.tenantId,
    apiKeyId: principal.apiKeyId,
    images: result.images.map((i) => ({ mediaType: i.mediaType, bytes: i.bytes })),
    webhookUrl,
  });
  return {
    id: result.id,
    object: "generation",
    status: "held",
    location: `/v1/generations/${result.id}`,
  };
}
