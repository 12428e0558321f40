import type { Hook } from "@hono/zod-openapi";
import { HallmarkError } from "../errors/index.js";
import type { AppEnv } from "./context.js";

/**
 * Turns a zod validation failure into Hallmark's error: the first issue decides the code and the
 * `param`, so the caller learns which field to fix.
 */
// biome-ignore lint/suspicious/noExplicitAny: Hono's Hook is generic over every route.
export const validationHook: Hook<any, AppEnv, any, any> = (result) => {
  if (result.success) return;
  const issue = result.error.issues[0];
  if (!issue) throw new HallmarkError("invalid_request_error", "Invalid request.");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    throw new HallmarkError("unknown_parameter", `Unknown parameter: '${key}'.`, { param: key });
  }
  const param = issue.path.map(String).join(".") || null;
  if (param === "prompt" && issue.code === "too_big") {
    throw new HallmarkError(
      "prompt_too_long",
      `The prompt is longer than ${issue.maximum} characters.`,
      {
        param,
      },
    );
  }
  const where = param ? `'${param}': ` : "";
  throw new HallmarkError("invalid_request_error", `Invalid value for ${where}${issue.message}`, {
    param,
  });
};
