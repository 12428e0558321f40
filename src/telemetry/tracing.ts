import {
  type Context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

export interface TracingOptions {
  /** OTLP/HTTP endpoint: a base URL (`/v1/traces` is appended) or the full traces URL. */
  endpoint: string;
  serviceName?: string;
  version: string;
}

/** The request span and what the stage spans hang from. */
export interface RequestTrace {
  span: Span;
  context: Context;
}

/** `stage.<name>`: one span per pipeline stage, under its request's span. */
export const STAGE_SPAN_PREFIX = "stage.";

/**
 * OpenTelemetry tracing to an OTLP/HTTP collector: a server span per request (joining the
 * caller's trace when it sends `traceparent`) and a child span per pipeline stage.
 *
 * The provider is not registered globally (no `provider.register()`): spans are parented
 * explicitly, so two runtimes in one process keep their own exporters and nothing else in the
 * process is instrumented behind the operator's back. Only called when an endpoint is set.
 *
 * @example const tracing = startTracing({ endpoint: "http://127.0.0.1:4318", version: "0.1.0" })
 */
export function startTracing(options: TracingOptions) {
  const url = /\/v1\/traces\/?$/.test(options.endpoint)
    ? options.endpoint
    : `${options.endpoint.replace(/\/$/, "")}/v1/traces`;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      "service.name": options.serviceName ?? "hallmark",
      "service.version": options.version,
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  const tracer = provider.getTracer("hallmark", options.version);
  const propagator = new W3CTraceContextPropagator();

  return {
    url,
    /** Starts a request's server span; `headers` may carry the caller's `traceparent`. */
    startRequest(method: string, headers: Record<string, string>): RequestTrace {
      const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
      const span = tracer.startSpan(
        method,
        { kind: SpanKind.SERVER, attributes: { "http.request.method": method } },
        parent,
      );
      return { span, context: trace.setSpan(parent, span) };
    },
    /** Ends a request's span with its route template and status. */
    endRequest(
      request: RequestTrace,
      attributes: {
        method: string;
        route: string;
        status: number;
        requestId: string;
        tenantId?: string;
      },
    ): void {
      const { span } = request;
      span.updateName(`${attributes.method} ${attributes.route}`);
      span.setAttributes({
        "http.route": attributes.route,
        "http.response.status_code": attributes.status,
        "hallmark.request_id": attributes.requestId,
        ...(attributes.tenantId ? { "hallmark.tenant_id": attributes.tenantId } : {}),
      });
      if (attributes.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
    /** Runs one stage's work inside its span; a throw marks the span as an error. */
    async stage<T>(request: RequestTrace, name: string, fn: () => Promise<T>): Promise<T> {
      const span = tracer.startSpan(`${STAGE_SPAN_PREFIX}${name}`, {}, request.context);
      try {
        return await fn();
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(code ?? "error") });
        throw error;
      } finally {
        span.end();
      }
    },
    /** A stage the use case timed itself (the `record` stage): a span ending now, `ms` long. */
    timedStage(request: RequestTrace, name: string, ms: number): void {
      const end = Date.now();
      tracer
        .startSpan(`${STAGE_SPAN_PREFIX}${name}`, { startTime: end - ms }, request.context)
        .end(end);
    },
    /** Exports what is buffered and stops. */
    shutdown: () => provider.shutdown(),
  };
}

export type Tracing = ReturnType<typeof startTracing>;
