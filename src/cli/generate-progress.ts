/** Where progress goes: stderr, or a fake of it in tests. */
export interface ProgressSink {
  write(text: string): unknown;
  /** A terminal: draw one bar redrawn in place; otherwise plain lines. */
  isTTY?: boolean;
  columns?: number;
}

/** A `hallmark.progress` event's data (src/http/routes/images-generations-stream.ts). */
export interface ProgressUpdate {
  stage: string;
  status: string;
  step?: number;
  steps?: number;
}

/**
 * The stages a generation passes and their share of the bar: denoising is where a long
 * generation spends its time, so it fills most of it.
 */
const WEIGHTS: Record<string, number> = {
  screen_prompt: 5,
  screen_input: 5,
  generate: 70,
  screen_output: 5,
  watermark: 5,
  c2pa: 5,
  record: 5,
};

export interface ProgressReporter {
  update(progress: ProgressUpdate): void;
  /** Ends the bar (a newline on a terminal). */
  done(): void;
}

/**
 * A progress bar on a terminal (`[#########---------]  45% generate 9/20`, redrawn in place),
 * plain lines otherwise (each stage as it starts, denoising every 25%), so that logs stay
 * readable. The bar fills by stages (denoising 70% of it), and within `generate` by denoising
 * steps when the backend reports them.
 */
export function createProgressReporter(sink: ProgressSink): ProgressReporter {
  const finished = new Set<string>();
  let label = "";
  let step: { step: number; steps: number } | null = null;
  let drawn = false;
  let lastQuarter = -1;

  function fraction(): number {
    let done = 0;
    for (const stage of finished) done += WEIGHTS[stage] ?? 0;
    if (step && !finished.has("generate"))
      done += (WEIGHTS.generate as number) * (step.step / step.steps);
    return Math.min(1, done / 100);
  }

  function draw(): void {
    const width = Math.max(10, Math.min(40, (sink.columns ?? 80) - 40));
    const f = fraction();
    const filled = Math.round(f * width);
    const pct = `${Math.round(f * 100)}%`.padStart(4);
    sink.write(`\r\x1b[2K[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${pct} ${label}`);
    drawn = true;
  }

  return {
    update(p) {
      if (p.status === "started") {
        label = p.stage;
        if (!sink.isTTY) sink.write(`${p.stage}…\n`);
      } else if (p.status === "running" && p.step !== undefined && p.steps) {
        label = `${p.stage} ${p.step}/${p.steps}`;
        step = { step: p.step, steps: p.steps };
        const quarter = Math.floor((4 * p.step) / p.steps);
        if (!sink.isTTY && quarter !== lastQuarter) {
          lastQuarter = quarter;
          if (quarter > 0) sink.write(`${p.stage} step ${p.step}/${p.steps}\n`);
        }
      } else {
        finished.add(p.stage);
        label = p.stage;
        if (!sink.isTTY && p.status !== "applied") sink.write(`${p.stage}: ${p.status}\n`);
      }
      if (sink.isTTY) draw();
    },
    done() {
      if (sink.isTTY && drawn) sink.write("\n");
    },
  };
}
