/**
 * Several backends behind one gateway (HALLMARK_BACKENDS_FILE): each request goes to the backend
 * that serves the model it names, or to the default backend when it names none. Each backend
 * keeps its own retries, circuit breaker and concurrency limit, so a slow or broken upstream
 * fills only its own queue.
 */
import { HallmarkError } from "../errors/index.js";
import type { Limiter } from "./limiter.js";
import type { EditInput, GenerateInput, GenerateOutput, Generator } from "./types.js";

export interface RoutedBackend {
  /** The name in the backends file, reported by readiness. */
  name: string;
  generator: Generator;
  /** Model ids routed here, besides the generator's own default model. */
  models: string[];
  /** This backend's concurrency limit and bounded queue. */
  limiter: Limiter;
}

export interface RoutingGenerator extends Generator {
  readonly backends: readonly RoutedBackend[];
  /** Every routed model and the name of its backend, in the file's order. */
  readonly served: ReadonlyArray<{ id: string; backend: string }>;
  /** The backend serving `model` (the default backend for none); `model_not_found` otherwise. */
  select(model: string | undefined): Generator;
  close(): Promise<void>;
}

export function createRoutingGenerator(
  backends: RoutedBackend[],
  defaultName: string,
): RoutingGenerator {
  const fallback = backends.find((b) => b.name === defaultName);
  if (!fallback) throw new Error(`no backend named ${defaultName}`);
  const byModel = new Map<string, RoutedBackend>();
  for (const b of backends) {
    for (const model of [b.generator.defaultModel, ...b.models]) {
      const other = byModel.get(model);
      if (other && other !== b) {
        throw new HallmarkError(
          "config_error",
          `The model "${model}" is served by two backends: ${other.name} and ${b.name}.`,
        );
      }
      byModel.set(model, b);
    }
  }
  const route = (model: string | undefined): RoutedBackend => {
    if (model === undefined) return fallback;
    const b = byModel.get(model);
    if (b) return b;
    throw new HallmarkError(
      "model_not_found",
      `No configured backend serves the model "${model}" (served: ${[...byModel.keys()].join(", ")}).`,
      { param: "model", details: { model } },
    );
  };
  /** The routed backend as a Generator whose calls wait for its own limiter. */
  const limited = (b: RoutedBackend): Generator => {
    const g = b.generator;
    const edit = g.edit?.bind(g);
    return {
      name: g.name,
      defaultModel: g.defaultModel,
      editCapabilities: g.editCapabilities,
      generate: (input: GenerateInput, signal: AbortSignal) =>
        b.limiter.run(signal, () => g.generate(input, signal)),
      edit: edit
        ? (input: EditInput, signal: AbortSignal): Promise<GenerateOutput> =>
            b.limiter.run(signal, () => edit(input, signal))
        : undefined,
      health: (signal?: AbortSignal) => g.health(signal),
    };
  };
  const wrapped = new Map(backends.map((b) => [b, limited(b)]));
  const select = (model: string | undefined) => wrapped.get(route(model))!;
  const anyEdits = backends.some((b) => b.generator.edit);
  return {
    name: `router(${backends.map((b) => b.name).join(",")})`,
    defaultModel: fallback.generator.defaultModel,
    backends,
    served: [...byModel].map(([id, b]) => ({ id, backend: b.name })),
    select,
    // The pipeline asks `select(model)` for the capabilities of the backend a request goes to;
    // these are the default backend's, for callers that do not.
    editCapabilities: fallback.generator.editCapabilities,
    // async: a model no backend serves is a rejected promise, like any backend failure.
    generate: async (input, signal) => select(input.model).generate(input, signal),
    edit: anyEdits
      ? async (input, signal) => {
          const g = select(input.model);
          if (!g.edit) {
            throw new HallmarkError(
              "edit_not_supported",
              `The '${g.name}' backend does not edit images.`,
              { param: "image" },
            );
          }
          return g.edit(input, signal);
        }
      : undefined,
    /** Answers when every backend answers; otherwise names those that do not. */
    async health(signal) {
      const results = await Promise.allSettled(backends.map((b) => b.generator.health(signal)));
      const down = backends.filter((_, i) => results[i]!.status === "rejected");
      if (down.length > 0) {
        throw new HallmarkError(
          "backend_unavailable",
          `Backends not answering: ${down.map((b) => b.name).join(", ")}.`,
        );
      }
    },
    async close() {
      for (const b of backends) {
        await (b.generator as Partial<{ close(): Promise<void> }>).close?.();
      }
    },
  };
}

/** The backend a request for `model` goes to: the router's choice, or the one generator. */
export function backendFor(generator: Generator, model: string | undefined): Generator {
  const select = (generator as Partial<RoutingGenerator>).select;
  return select ? select(model) : generator;
}

/** The models a gateway serves and the backend of each: every routed model, or the one default. */
export function servedModels(generator: Generator): ReadonlyArray<{ id: string; backend: string }> {
  return (
    (generator as Partial<RoutingGenerator>).served ?? [
      { id: generator.defaultModel, backend: generator.name },
    ]
  );
}
