import { AsyncLocalStorage } from "node:async_hooks";
import type { StageRecord } from "../audit/index.js";

/** The stages of a generation, in the order the pipeline runs them (docs/ARCHITECTURE.md). */
export const STAGE_NAMES = [
  "screen_prompt",
  "screen_input",
  "generate",
  "screen_output",
  "watermark",
  // The delivered bytes in the requested format (PNG, JPEG, WebP), after the mark, before signing.
  "encode",
  "c2pa",
  "record",
] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/**
 * Told of a request's stages as they happen (metrics, logs, tracing spans: src/http/middleware/
 * metrics.ts builds one per request). `around` wraps the work of each stage that runs;
 * `recorded` sees every record in order, including `absent`/`skipped` ones and those a use case
 * pushes itself (the `record` stage).
 */
export interface StageObserver {
  around?<T>(name: StageName, fn: () => Promise<T>): Promise<T>;
  recorded(record: StageRecord): void;
}

/**
 * The observer of the request being served. Carried by async context rather than through
 * PipelineDeps so that every use case (generate, edits, a job worker) reports its stages
 * without threading an argument through each; it holds no state of its own.
 */
const currentObserver = new AsyncLocalStorage<StageObserver>();

/**
 * Runs `fn` with `observer` told of every StageTimer created inside it (across awaits).
 *
 * @example await observeStages(observer, () => generateImages(deps, request, signal))
 */
export function observeStages<T>(observer: StageObserver, fn: () => T): T {
  return currentObserver.run(observer, fn);
}

/** The observer in force here, if any: a nested observer chains to it (streaming progress). */
export function currentStageObserver(): StageObserver | undefined {
  return currentObserver.getStore();
}

/** Collects stage records with their timings, in order. */
export class StageTimer {
  readonly records: StageRecord[] = [];
  private readonly observer = currentObserver.getStore();

  constructor() {
    const observer = this.observer;
    if (observer) {
      // Use cases also push records themselves (the `record` stage); the observer sees those too.
      const records = this.records;
      Object.defineProperty(records, "push", {
        value: (...items: StageRecord[]) => {
          const length = Array.prototype.push.apply(records, items);
          for (const item of items) observer.recorded(item);
          return length;
        },
      });
    }
  }

  /** Runs `fn` as stage `name`, timing it; a throw is recorded as `failed` and rethrown. */
  async run<T>(name: StageName, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const observer = this.observer;
      const value = await (observer?.around ? observer.around(name, fn) : fn());
      this.records.push({ name, status: "applied", ms: elapsed(started) });
      return value;
    } catch (error) {
      const code = (error as { code?: string }).code;
      this.records.push({ name, status: "failed", ms: elapsed(started), note: code ?? "error" });
      throw error;
    }
  }

  /** Records a stage that did not run: `absent` (not built yet) or `skipped` (not applicable). */
  note(name: StageName, status: "absent" | "skipped", note: string): void {
    this.records.push({ name, status, ms: 0, note });
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

/** The Server-Timing header value for the stages (https://www.w3.org/TR/server-timing/). */
export function serverTiming(records: StageRecord[]): string {
  return records
    .map((r) => {
      const desc = r.status === "applied" ? "" : `;desc="${r.status}"`;
      return `${r.name};dur=${r.ms}${desc}`;
    })
    .join(", ");
}

export type PipelineStages = StageTimer["records"];
