import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** What a stage record looks like to the metrics (src/audit's StageRecord). */
export interface StageSample {
  name: string;
  status: "applied" | "absent" | "skipped" | "failed";
  ms: number;
  note?: string;
}

/** A source of a queue's depth, read at every scrape (the backend limiter, the job queue). */
export type QueueDepth = () => number | Promise<number>;

/** A generator whose circuit breaker state can be read (src/generate's BreakerGenerator). */
export interface CircuitSource {
  name: string;
  readonly circuit?: "closed" | "open" | "half-open";
}

const CIRCUIT_STATES = ["closed", "half-open", "open"] as const;

/** Latency buckets in seconds: from a lexicon lookup (ms) to a slow diffusion backend (minutes). */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * The gateway's Prometheus metrics, in a registry of its own (one per runtime: no global
 * default registry, so two gateways in one process, as in tests, never share series).
 * Names and labels are listed in docs/operations.md.
 *
 * @example const m = createMetrics({ backend: generator }); await m.registry.metrics()
 */
export function createMetrics(options: { backend: CircuitSource }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const backend = options.backend.name;

  const httpRequests = new Counter({
    name: "hallmark_http_requests_total",
    help: "HTTP requests by method, route template and status.",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: "hallmark_http_request_duration_seconds",
    help: "HTTP request duration by method, route template and status.",
    labelNames: ["method", "route", "status"] as const,
    buckets: SECONDS,
    registers,
  });
  const stageDuration = new Histogram({
    name: "hallmark_stage_duration_seconds",
    help: "Duration of pipeline stages that ran, by stage and status (applied or failed).",
    labelNames: ["stage", "status"] as const,
    buckets: SECONDS,
    registers,
  });
  const stages = new Counter({
    name: "hallmark_stages_total",
    help: "Pipeline stages by stage and status (applied, failed, skipped, absent).",
    labelNames: ["stage", "status"] as const,
    registers,
  });
  const decisions = new Counter({
    name: "hallmark_decisions_total",
    help: "Policy decisions on generations, by action and fired category ('none' when none fired).",
    labelNames: ["action", "category"] as const,
    registers,
  });
  const marks = new Counter({
    name: "hallmark_marks_total",
    help: "Marks on delivered images by kind (watermark, c2pa) and result (applied, not_applied, failed).",
    labelNames: ["mark", "result"] as const,
    registers,
  });
  const verifyChecks = new Counter({
    name: "hallmark_verify_checks_total",
    help: "Verify outcomes by check (watermark, c2pa) and outcome.",
    labelNames: ["check", "outcome"] as const,
    registers,
  });
  const backendErrors = new Counter({
    name: "hallmark_backend_errors_total",
    help: "Failed generation stages by backend and error code.",
    labelNames: ["backend", "code"] as const,
    registers,
  });
  new Gauge({
    name: "hallmark_backend_circuit_state",
    help: "The backend's circuit breaker: 1 for its current state, 0 for the others.",
    labelNames: ["backend", "state"] as const,
    registers,
    collect() {
      const current = options.backend.circuit ?? "closed";
      for (const state of CIRCUIT_STATES) this.set({ backend, state }, state === current ? 1 : 0);
    },
  });
  const queues = new Map<string, QueueDepth>();
  new Gauge({
    name: "hallmark_queue_depth",
    help: "Work waiting, by queue (backend: requests waiting for a generation slot).",
    labelNames: ["queue"] as const,
    registers,
    async collect() {
      for (const [queue, depth] of queues) {
        try {
          this.set({ queue }, await depth());
        } catch {
          // A queue that cannot be read (database down) drops out of this scrape.
          this.remove({ queue });
        }
      }
    },
  });

  return {
    registry,
    /** One finished HTTP request; `route` is the matched template, never the raw path. */
    request(method: string, route: string, status: number, seconds: number): void {
      const labels = { method, route, status: String(status) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, seconds);
    },
    /** One stage record as the pipeline adds it. */
    stage(record: StageSample): void {
      stages.inc({ stage: record.name, status: record.status });
      if (record.status === "applied" || record.status === "failed") {
        stageDuration.observe({ stage: record.name, status: record.status }, record.ms / 1000);
      }
      if (record.status === "failed" && record.name === "generate") {
        backendErrors.inc({ backend, code: record.note ?? "error" });
      }
      if (record.status === "failed" && (record.name === "watermark" || record.name === "c2pa")) {
        marks.inc({ mark: record.name, result: "failed" });
      }
    },
    /** A policy decision on a generation (allowed, held or refused). */
    decision(action: string, categories: readonly string[]): void {
      if (categories.length === 0) decisions.inc({ action, category: "none" });
      for (const category of categories) decisions.inc({ action, category });
    },
    /** The marks of one delivered image (its `marks` array in the response). */
    delivered(imageMarks: readonly unknown[]): void {
      for (const kind of ["watermark", "c2pa"] as const) {
        const mark = imageMarks.find(
          (m): m is { kind: string; applied?: boolean } =>
            typeof m === "object" && m !== null && (m as { kind?: unknown }).kind === kind,
        );
        if (mark)
          marks.inc({ mark: kind, result: mark.applied === false ? "not_applied" : "applied" });
      }
    },
    /** One verify check's outcome (e.g. watermark detected / not_detected, c2pa trusted / invalid). */
    verify(check: "watermark" | "c2pa", outcome: string): void {
      verifyChecks.inc({ check, outcome });
    },
    /**
     * Adds a queue whose depth is read at every scrape. The backend limiter is added by the
     * runtime; the job queue (pg-boss) adds itself with `queueDepth("jobs", () => …)`.
     */
    queueDepth(queue: string, depth: QueueDepth): void {
      queues.set(queue, depth);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
