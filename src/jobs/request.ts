import type { OutputKey } from "../outputs/index.js";
import { seal, unseal } from "../outputs/index.js";
import type { GenerationRequest } from "../pipeline/index.js";

/** Additional data: a sealed request opens only as the request of this job. */
function aad(id: string): Buffer {
  return Buffer.from(`hallmark-job:${id}`);
}

/**
 * Seals a job's request (it holds the prompt, which the database must not keep in the clear
 * when the policy says so) with the output key. The seed is fixed by then, so a retried job
 * asks the backend for the same image.
 */
export function sealRequest(key: OutputKey, id: string, request: GenerationRequest): Buffer {
  return seal(key.key, aad(id), Buffer.from(JSON.stringify(request)));
}

export function openRequest(key: OutputKey, id: string, sealed: Buffer): GenerationRequest {
  const request = JSON.parse(unseal(key.key, aad(id), sealed).toString("utf8"));
  return { ...request, id };
}
