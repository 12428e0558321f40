import { HallmarkError } from "../errors/index.js";
import { backendFor } from "../generate/router.js";
import { modelAllowed } from "./policy-check.js";
import { type PipelineRun, refuseRequest } from "./run.js";

/**
 * Before anything is screened or generated: the model the request names (or the backend's
 * default, when it names none) must be on the policy's allow-list (`models.allow`, matched by
 * `modelAllowed`), and, with several backends (HALLMARK_BACKENDS_FILE), one of them must serve
 * it. A refusal is recorded (status refused, error `model_not_allowed` or `model_not_found`),
 * then answered 403 or 404.
 */
export async function checkModelAllowed(run: PipelineRun): Promise<void> {
  const { deps, request } = run;
  const model = request.model ?? deps.generator.defaultModel;
  if (modelAllowed(deps.policy, model)) {
    try {
      backendFor(deps.generator, request.model);
    } catch (error) {
      if (!(error instanceof HallmarkError)) throw error;
      await refuseRequest(run, error);
    }
    return;
  }
  await refuseRequest(
    run,
    new HallmarkError(
      "model_not_allowed",
      `The policy does not allow the model "${model}" (allowed: ${deps.policy.models.allow.join(", ")}).`,
      { param: "model", details: { model } },
    ),
  );
}
