import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Metrics } from './metrics';

/** Seconds: from a fast GraphQL read to a long reply's first token. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The Prometheus side of `Metrics`, one registry per app (tests run several apps in one
 * process; a global registry would mix them). The transports add their own measures
 * (`httpRequest`, `graphqlOperation`) and gauges read when scraped (`gauge`).
 */
export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly http: Histogram<'route' | 'method' | 'status'>;
  private readonly graphql: Histogram<'operation'>;
  private readonly errors: Counter<'code'>;
  private readonly firstToken: Histogram<'model' | 'upstream'>;
  private readonly providerErrors: Counter<'model' | 'upstream' | 'reason'>;
  private readonly moderation: Counter<'stage' | 'action'>;

  constructor() {
    const registers = [this.registry];
    // Process metrics: CPU, memory, handles, GC, and event-loop lag (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry });
    this.http = new Histogram({ name: 'http_request_duration_seconds', help: 'HTTP requests by route pattern, method and status.', labelNames: ['route', 'method', 'status'], buckets: DURATION_BUCKETS, registers });
    this.graphql = new Histogram({ name: 'graphql_operation_duration_seconds', help: 'GraphQL operations by operation name (anonymous: "-").', labelNames: ['operation'], buckets: DURATION_BUCKETS, registers });
    this.errors = new Counter({ name: 'app_errors_total', help: 'Errors answered, by error code (GraphQL, REST and OpenAI-compatible calls).', labelNames: ['code'], registers });
    this.firstToken = new Histogram({ name: 'ai_first_token_seconds', help: 'Time from a reply starting to its first text, by model and upstream.', labelNames: ['model', 'upstream'], buckets: DURATION_BUCKETS, registers });
    this.providerErrors = new Counter({ name: 'ai_provider_errors_total', help: 'Replies ended by a provider failure, by model, upstream and reason.', labelNames: ['model', 'upstream', 'reason'], registers });
    this.moderation = new Counter({ name: 'moderation_hits_total', help: 'Content security hits on this instance, by stage (input/output) and action.', labelNames: ['stage', 'action'], registers });
  }

  replyFirstToken(model: string, upstream: string | null, ms: number): void {
    this.firstToken.observe({ model, upstream: upstream ?? 'builtin' }, ms / 1000);
  }

  providerError(model: string, upstream: string | null, reason: string): void {
    this.providerErrors.inc({ model, upstream: upstream ?? 'builtin', reason });
  }

  moderationHit(stage: string, action: string): void {
    this.moderation.inc({ stage, action });
  }

  error(code: string): void {
    this.errors.inc({ code });
  }

  httpRequest(route: string, method: string, status: number, seconds: number): void {
    this.http.observe({ route, method, status: String(status) }, seconds);
  }

  graphqlOperation(operation: string, seconds: number): void {
    this.graphql.observe({ operation }, seconds);
  }

  /** A gauge whose value is read when scraped (running replies, open sockets, pool use). */
  gauge(name: string, help: string, read: () => number | Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  /** A gauge with labels, all read when scraped. */
  labelledGauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: () => Promise<Array<{ labels: Record<L, string>; value: number }>>): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const { labels, value } of await read()) this.set(labels as Partial<Record<L, string | number>>, value);
      },
    });
  }

  /** The exposition text and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
