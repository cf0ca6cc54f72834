import { SpanStatusCode, trace, type Span } from '@opentelemetry/api';

/**
 * The tracing port features use: spans over `@opentelemetry/api`, which does nothing until
 * src/tracing.ts registers an SDK (only when OTEL_EXPORTER_OTLP_ENDPOINT is set). Features
 * import OpenTelemetry only through this file, so what goes into a span is decided here:
 * ids, names, counts and outcomes, never secrets, tokens or users' text.
 */

export type TraceAttributes = Record<string, string | number | boolean | undefined>;

export interface SpanHandle {
  /** Adds attributes (undefined values are skipped). */
  set(attributes: TraceAttributes): void;
  /** A timestamped event (e.g. the first token). */
  event(name: string, attributes?: TraceAttributes): void;
}

/** The attribute every span of a request carries (copied from parent to child by the SDK setup). */
export const REQUEST_ID_ATTRIBUTE = 'request.id';

const tracer = () => trace.getTracer('chat-assistant-server');

function clean(attributes: TraceAttributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v;
  return out;
}

function handle(span: Span): SpanHandle {
  return {
    set: (attributes) => void span.setAttributes(clean(attributes)),
    event: (name, attributes = {}) => void span.addEvent(name, clean(attributes)),
  };
}

/** Why it failed, by kind only: error messages may quote providers or users. */
function errorType(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const reason = (err as { details?: { reason?: unknown } }).details?.reason;
    if (typeof reason === 'string') return reason;
    if (err instanceof Error) return err.name;
  }
  return 'unknown';
}

/** Runs `fn` inside a span (the current one is its parent); a throw marks the span as an error. */
export function withSpan<T>(name: string, attributes: TraceAttributes, fn: (span: SpanHandle) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes: clean(attributes) }, async (span) => {
    try {
      return await fn(handle(span));
    } catch (err) {
      span.setAttribute('error.type', errorType(err));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks the current span (the incoming request's) with the request id; spans started under it inherit it. */
export function tagRequest(requestId: string): void {
  trace.getActiveSpan()?.setAttribute(REQUEST_ID_ATTRIBUTE, requestId);
}

let flushHook: (() => Promise<void>) | undefined;

/** Set by src/tracing.ts when it starts an exporter. */
export function onTraceShutdown(fn: () => Promise<void>): void {
  flushHook = fn;
}

/** Sends the spans still buffered and stops the exporter (at shutdown); nothing when tracing is off. */
export async function shutdownTracing(): Promise<void> {
  const fn = flushHook;
  flushHook = undefined;
  await fn?.();
}
