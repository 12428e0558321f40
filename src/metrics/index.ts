/**
 * Prometheus metrics (prom-client), one registry per runtime, served at GET /metrics
 * (docs/operations.md lists every series).
 */
export {
  type CircuitSource,
  createMetrics,
  type Metrics,
  type QueueDepth,
  type StageSample,
} from "./registry.js";
