import { createServer } from "node:http";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../db/test-databases.js";
import { listenOnLoopback, readBody } from "../generate/loopback.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";

interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

/** A fake OTLP/HTTP collector on loopback: a real HTTP peer that keeps every exported span. */
async function startFakeCollector() {
  const spans: ReceivedSpan[] = [];
  const paths: string[] = [];
  const server = createServer(async (req, res) => {
    let body = await readBody(req);
    if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
    paths.push(`${req.method} ${req.url} ${req.headers["content-type"]}`);
    const doc = JSON.parse(body.toString("utf8")) as {
      resourceSpans: Array<{ scopeSpans: Array<{ spans: ReceivedSpan[] }> }>;
    };
    for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  const listening = await listenOnLoopback(server);
  return { ...listening, spans, paths };
}

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

describe.each(testDatabases())("OpenTelemetry spans per stage on $name", (testDb) => {
  let collector: Awaited<ReturnType<typeof startFakeCollector>>;
  let gw: TestGateway;
  let closed = false;
  beforeAll(async () => {
    collector = await startFakeCollector();
    gw = await startTestGateway(testDb, { HALLMARK_OTLP_ENDPOINT: collector.url });
  }, 240_000);
  afterAll(async () => {
    if (!closed) await gw.close();
    await collector.close();
  });

  it("exports a server span per request and a child span per stage that ran, joining the caller's trace", async () => {
    expect(gw.runtime.operations.tracing).toBeDefined();
    const res = await gw.request("/v1/images/generations", {
      json: { prompt: "a lighthouse at dusk", size: "256x256" },
      headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01` },
    });
    expect(res.status).toBe(200);
    // Closing the runtime flushes the batch to the collector.
    await gw.close();
    closed = true;

    expect(collector.paths[0]).toMatch(/^POST \/v1\/traces application\/json/);
    const request = collector.spans.find((s) => s.name === "POST /v1/images/generations")!;
    expect(request).toBeDefined();
    expect(request.traceId).toBe(TRACE_ID);
    expect(request.parentSpanId).toBe("00f067aa0ba902b7");
    const status = request.attributes.find((a) => a.key === "http.response.status_code");
    expect(status?.value).toEqual({ intValue: 200 });

    const stages = collector.spans.filter((s) => s.parentSpanId === request.spanId);
    expect(stages.map((s) => s.name).sort()).toEqual(
      [
        "stage.c2pa",
        "stage.encode",
        "stage.generate",
        "stage.record",
        "stage.screen_output",
        "stage.screen_prompt",
        "stage.watermark",
      ].sort(),
    );
    expect(stages.every((s) => s.traceId === TRACE_ID)).toBe(true);
    // Spans name stages and routes; they never carry the prompt.
    expect(JSON.stringify(collector.spans)).not.toContain("lighthouse");
  });
});
