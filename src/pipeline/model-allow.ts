import { HallmarkError } from "../errors/index.js";
import { modelAllowed } from "./policy-check.js";
import { type PipelineRun, refuseRequest } from "./run.js";

/**
 * Before anything is screened or generated: the model the request names (or the backend's
 * default, when it names none) must be on the policy's allow-list (`models.allow`, matched by
 * `modelAllowed`). A refusal is recorded (status refused, error `model_not_allowed`), then
 * answered 403.
 */
export async function checkModelAllowed(run: PipelineRun): Promise<void> {
  const { deps, request } = run;
  const model = request.model ?? deps.generator.defaultModel;
  if (modelAllowed(deps.policy, model)) return;
  await refuseRequest(
    run,
    new HallmarkError(
      "model_not_allowed",
      `The policy does not allow the model "${model}" (allowed: ${deps.policy.models.allow.join(", ")}).`,
      { param: "model", details: { model } },
    ),
  );
}
