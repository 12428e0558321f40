/**
 * HALLMARK_BACKENDS_FILE: several generation backends in one gateway, and the models each serves
 * (docs/backends.md). A request's `model` picks the backend; one that names no model goes to
 * `default`. Each entry takes the settings of its HALLMARK_BACKEND kind; the limits it leaves out
 * (concurrency, queue, retries, circuit breaker, timeout) come from the HALLMARK_BACKEND_* and
 * HALLMARK_BREAKER_* variables. Secrets are never in the file: an OpenAI-compatible entry names
 * the environment variable that holds its key (`api_key_env`).
 */
import path from "node:path";
import { z } from "zod";
import { HallmarkError } from "../errors/index.js";
import { parseYaml } from "../policy/yaml.js";
import type { BackendCommon, BackendConfig } from "./load.js";

const positive = z.number().int().positive();
const common = {
  /** Model ids routed to this backend, besides its own default model. */
  models: z.array(z.string().min(1)).default([]),
  concurrency: positive.optional(),
  queue: z.number().int().min(0).optional(),
  timeout_ms: positive.optional(),
  retries: z.number().int().min(0).max(10).optional(),
  breaker_failures: positive.optional(),
  breaker_cooldown_ms: positive.optional(),
};
const url = z.string().url();

const entry = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("placeholder"), ...common }).strict(),
  z
    .object({
      kind: z.literal("embedded"),
      steps: z.number().int().min(1).max(200).default(20),
      ...common,
    })
    .strict(),
  z
    .object({
      kind: z.literal("onnx-sd"),
      dir: z.string().min(1),
      model_id: z.string().min(1).optional(),
      steps: z.number().int().min(1).max(200).default(25),
      sampler: z.enum(["euler_a", "euler", "ddim"]).optional(),
      guidance: z.number().min(0).max(30).default(7.5),
      provider: z.enum(["auto", "cuda", "cpu"]).default("auto"),
      ...common,
    })
    .strict(),
  z.object({ kind: z.literal("automatic1111"), url, ...common }).strict(),
  z
    .object({
      kind: z.literal("openai"),
      url: url.default("https://api.openai.com"),
      /** The environment variable holding the API key (never the key itself). */
      api_key_env: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
        .optional(),
      model: z.string().min(1).default("gpt-image-1"),
      ...common,
    })
    .strict(),
  z
    .object({
      kind: z.literal("comfyui"),
      url,
      workflow: z.string().min(1).optional(),
      edit_workflow: z.string().min(1).optional(),
      checkpoint: z.string().min(1).default("v1-5-pruned-emaonly.safetensors"),
      ...common,
    })
    .strict(),
]);

const fileSchema = z
  .object({
    /** The backend of requests that name no model. */
    default: z.string().min(1),
    backends: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/), entry),
  })
  .strict();

export interface ConfiguredBackend {
  name: string;
  /** Model ids routed here besides the backend's own default model. */
  models: string[];
  config: BackendConfig;
}

export interface BackendsFile {
  default: string;
  backends: ConfiguredBackend[];
}

/**
 * The backends file's entries as backend configurations. Relative paths (onnx-sd `dir`,
 * ComfyUI workflows) are relative to the file. Mistakes are `config_error`s naming the line.
 */
export function parseBackendsFile(
  text: string,
  source: string,
  env: Record<string, string | undefined>,
  defaults: BackendCommon,
): BackendsFile {
  const { data } = parseYaml(text, source, fileSchema, "backends file");
  const dir = path.dirname(path.resolve(source));
  const at = (p: string | undefined) => (p === undefined ? undefined : path.resolve(dir, p));
  const names = Object.keys(data.backends);
  if (names.length === 0) {
    throw new HallmarkError("config_error", `${source}: backends: name at least one backend`);
  }
  if (!names.includes(data.default)) {
    throw new HallmarkError(
      "config_error",
      `${source}: default: "${data.default}" is not one of the backends (${names.join(", ")})`,
    );
  }
  const backends = Object.entries(data.backends).map(([name, e]): ConfiguredBackend => {
    const limits: BackendCommon = {
      concurrency: e.concurrency ?? defaults.concurrency,
      queue: e.queue ?? defaults.queue,
      timeoutMs: e.timeout_ms ?? defaults.timeoutMs,
      retries: e.retries ?? defaults.retries,
      breakerFailures: e.breaker_failures ?? defaults.breakerFailures,
      breakerCooldownMs: e.breaker_cooldown_ms ?? defaults.breakerCooldownMs,
    };
    const config = ((): BackendConfig => {
      switch (e.kind) {
        case "placeholder":
          return { kind: "placeholder", ...limits };
        case "embedded":
          return { kind: "embedded", steps: e.steps, ...limits };
        case "onnx-sd":
          return {
            kind: "onnx-sd",
            dir: at(e.dir)!,
            modelId: e.model_id,
            steps: e.steps,
            sampler: e.sampler,
            guidanceScale: e.guidance,
            provider: e.provider,
            ...limits,
          };
        case "automatic1111":
          return { kind: "automatic1111", url: e.url, ...limits };
        case "openai": {
          const apiKey = e.api_key_env ? env[e.api_key_env] : undefined;
          if (e.api_key_env && !apiKey) {
            throw new HallmarkError(
              "config_error",
              `${source}: backends.${name}.api_key_env: the variable ${e.api_key_env} is not set`,
            );
          }
          return { kind: "openai", url: e.url, apiKey, model: e.model, ...limits };
        }
        case "comfyui":
          return {
            kind: "comfyui",
            url: e.url,
            workflow: at(e.workflow),
            editWorkflow: e.edit_workflow === "off" ? "off" : at(e.edit_workflow),
            checkpoint: e.checkpoint,
            ...limits,
          };
      }
    })();
    return { name, models: e.models, config };
  });
  return { default: data.default, backends };
}
