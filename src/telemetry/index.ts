/** OpenTelemetry tracing of requests and pipeline stages, when an OTLP endpoint is configured. */
export { type RequestTrace, STAGE_SPAN_PREFIX, startTracing, type Tracing } from "./tracing.js";
