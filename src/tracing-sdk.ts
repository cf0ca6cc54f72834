import type { Context } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { trace } from '@opentelemetry/api';
import type { TracingConfig } from './config';
import { onTraceShutdown, REQUEST_ID_ATTRIBUTE } from './core/trace';

/**
 * The OpenTelemetry SDK: a tracer provider exporting over OTLP/HTTP (JSON) and the
 * instrumentations. Loaded only by src/tracing.ts when tracing is on.
 */
export function startTracing(config: TracingConfig): void {
  const exporter = new OTLPTraceExporter({ url: config.tracesUrl });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
    spanProcessors: [new RequestIdProcessor(), new BatchSpanProcessor(exporter)],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Query strings carry signed-link signatures, socket tokens and WeChat's access_token.
        requestHook: (span) => void span.setAttributes(withoutQueries(span)),
        // Probes and scrapes every few seconds would drown the requests worth reading.
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0]),
      }),
      new UndiciInstrumentation({ requestHook: (span) => void span.setAttributes(withoutQueries(span)) }),
      // No resolver spans: a list query would make one per field of every item. Variables
      // (users' text) stay out: allowValues is false and literals in the source are masked.
      new GraphQLInstrumentation({ ignoreResolveSpans: true, mergeItems: true, depth: 1, allowValues: false }),
      // The command only: its arguments are users' data (reply text in streams, keys with ids).
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
      new MySQL2Instrumentation({ maskStatement: true }),
    ],
  });
  onTraceShutdown(() => provider.shutdown());
}

const UNTRACED_PATHS = new Set(['/metrics', '/healthz', '/readyz']);

/** Attributes that may hold a URL with a query string, as set at the span's start. */
const URL_ATTRIBUTES = ['url.full', 'url.query', 'http.url', 'http.target'];

function withoutQueries(span: unknown): Record<string, string> {
  const attributes = (span as Partial<ReadableSpan>).attributes ?? {};
  const out: Record<string, string> = {};
  for (const key of URL_ATTRIBUTES) {
    const value = attributes[key];
    if (typeof value !== 'string') continue;
    if (key === 'url.query') out[key] = '';
    else if (value.includes('?')) out[key] = value.slice(0, value.indexOf('?'));
  }
  return out;
}

/** Copies the request id from a span's parent, so every span of a request carries it. */
class RequestIdProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: Context): void {
    const parent = trace.getSpan(parentContext) as Partial<ReadableSpan> | undefined;
    const id = parent?.attributes?.[REQUEST_ID_ATTRIBUTE];
    if (typeof id === 'string') span.setAttribute(REQUEST_ID_ATTRIBUTE, id);
  }
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
