import { HallmarkError } from "../errors/index.js";
import type { Policy } from "../policy/index.js";
import { type PipelineRun, refuseRequest } from "./run.js";

/**
 * The policy's model allow-list (`models.allow`: exact ids or patterns with `*`,
 * case-insensitive). A policy without the key allows every model.
 */
export function allowedModels(policy: Policy): string[] {
  const models = (policy as { models?: { allow?: unknown } }).models;
  const allow = models?.allow;
  return Array.isArray(allow) && allow.every((p) => typeof p === "string") ? allow : ["*"];
}

/** Whether `model` matches one of the patterns (`*` matches any run of characters). */
export function modelMatches(model: string, patterns: readonly string[]): boolean {
  const id = model.toLowerCase();
  return patterns.some((pattern) => {
    const parts = pattern.toLowerCase().split("*");
    if (parts.length === 1) return id === parts[0];
    const first = parts[0]!;
    const last = parts.at(-1)!;
    if (!id.startsWith(first) || !id.endsWith(last) || id.length < first.length + last.length) {
      return false;
    }
    let at = first.length;
    const end = id.length - last.length;
    for (const middle of parts.slice(1, -1)) {
      const found = id.indexOf(middle, at);
      if (found < 0 || found + middle.length > end) return false;
      at = found + middle.length;
    }
    return true;
  });
}

/**
 * Before anything is screened or generated: the model the request names (or the backend's
 * default, when it names none) must be on the tenant policy's allow-list. A refusal is recorded
 * (status refused, error `model_not_allowed`) and answered 403.
 */
export async function checkModelAllowed(run: PipelineRun): Promise<void> {
  const model = run.request.model ?? run.deps.generator.defaultModel;
  const allow = allowedModels(run.deps.policy);
  if (modelMatches(model, allow)) return;
  await refuseRequest(
    run,
    new HallmarkError(
      "model_not_allowed",
      `The model '${model}' is not allowed for this tenant; the policy allows ${allow.join(", ")}.`,
      { param: "model", details: { model } },
    ),
  );
}
