import type { StageRecord } from "../audit/index.js";

/** The stages of a generation, in the order the pipeline runs them (docs/ARCHITECTURE.md). */
export const STAGE_NAMES = [
  "screen_prompt",
  "screen_input",
  "generate",
  "screen_output",
  "watermark",
  "c2pa",
  "record",
] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Collects stage records with their timings, in order. */
export class StageTimer {
  readonly records: StageRecord[] = [];

  /** Runs `fn` as stage `name`, timing it; a throw is recorded as `failed` and rethrown. */
  async run<T>(name: StageName, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const value = await fn();
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
