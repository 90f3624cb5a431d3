'use strict';
/*
 * sdk_tracing.js - OpenTelemetry JS SDK set-up for the interop peers, loaded
 * with `node -r ./sdk_tracing.js SCRIPT`: a NodeTracerProvider (W3C
 * tracecontext + baggage propagators, parentbased_always_on), the http
 * auto-instrumentation, and JsonLinesExporter, which appends every finished
 * span to the file named by INTEROP_SDK_SPANS as one JSON object per line:
 *
 *   {"traceId", "spanId", "parentSpanId" ("" for a root), "name",
 *    "kind" (OTLP numbering: 1 internal, 2 server, 3 client),
 *    "attributes", "status": {"code", "message"}, "service"}
 *
 * The same shape as tests/integration/spans.py's dump, so a test compares
 * the SDK's ids with the library's directly.
 *
 * INTEROP_SDK_BATCH=1 puts a BatchSpanProcessor in front (what a production
 * service would use; the bench), otherwise a SimpleSpanProcessor exports each
 * span as it ends (tests: the line exists once the request has completed).
 * Without INTEROP_SDK_SPANS spans are made and exported nowhere.
 */

const fs = require('fs');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const {
  SimpleSpanProcessor,
  BatchSpanProcessor,
} = require('@opentelemetry/sdk-trace-base');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');

const SUCCESS = 0; /* ExportResultCode.SUCCESS */
const FAILED = 1;

/* SpanKind of @opentelemetry/api (INTERNAL 0, SERVER 1, CLIENT 2, PRODUCER 3,
 * CONSUMER 4) to OTLP's (UNSPECIFIED 0, INTERNAL 1, SERVER 2, CLIENT 3, ...). */
function otlpKind(k) {
  return k + 1;
}

function toJson(span) {
  const ctx = span.spanContext();
  const parent = span.parentSpanContext; /* SDK 2.x */
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: parent && parent.spanId ? parent.spanId : '',
    traceState: ctx.traceState ? ctx.traceState.serialize() : '',
    name: span.name,
    kind: otlpKind(span.kind),
    attributes: span.attributes,
    status: { code: span.status.code, message: span.status.message || '' },
    service: process.env.OTEL_SERVICE_NAME || 'interop-node',
  };
}

/* An exporter writes the batch with one appendFileSync: lines from one
 * process never interleave, and a test that saw the response also sees the
 * span (SimpleSpanProcessor exports on span end). */
class JsonLinesExporter {
  constructor(path) {
    this.path = path;
  }

  export(spans, done) {
    if (!this.path) {
      done({ code: SUCCESS });
      return;
    }
    try {
      const text = spans.map((s) => JSON.stringify(toJson(s)) + '\n').join('');
      fs.appendFileSync(this.path, text);
      done({ code: SUCCESS });
    } catch (e) {
      done({ code: FAILED, error: e });
    }
  }

  shutdown() {
    return Promise.resolve();
  }

  forceFlush() {
    return Promise.resolve();
  }
}

const exporter = new JsonLinesExporter(process.env.INTEROP_SDK_SPANS || '');
const processor =
  process.env.INTEROP_SDK_BATCH === '1'
    ? new BatchSpanProcessor(exporter, { maxQueueSize: 65536, scheduledDelayMillis: 200 })
    : new SimpleSpanProcessor(exporter);

const provider = new NodeTracerProvider({ spanProcessors: [processor] });
provider.register(); /* global tracer provider, context manager, W3C propagators */

registerInstrumentations({
  tracerProvider: provider,
  instrumentations: [new HttpInstrumentation()],
});

/* Scripts call this before exiting so a batch in flight is written. */
global.interopShutdown = function interopShutdown() {
  return provider.shutdown().catch(() => {});
};
