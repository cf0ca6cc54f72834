import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { UnauthenticatedError } from '../core/errors';
import type { AppDeps } from '../deps';
import { PaymentOrder } from '../db/entities/payment-order.entity';
import type { PromMetrics } from '../metrics/prom-metrics';

/**
 * GET /metrics in Prometheus' text format. METRICS_TOKEN: on the main port, to
 * `Authorization: Bearer <token>` only (401 otherwise). METRICS_PORT: on its own port, bound
 * to HOST, without a token (for a private network or a sidecar). Neither: no route (404).
 * Also measures every HTTP request and adds the gauges read at scrape time.
 */
export function registerMetrics(app: FastifyInstance, deps: AppDeps): void {
  const { metrics, config } = deps;
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern (/v1/chats/:id), never the raw URL: labels stay a bounded set.
    metrics.httpRequest(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  addGauges(metrics, deps, app);

  const { token, port } = config.metrics;
  if (token) {
    app.get('/metrics', async (req, reply) => {
      if (!bearerMatches(req.headers.authorization, token)) throw new UnauthenticatedError('GET /metrics needs Authorization: Bearer <METRICS_TOKEN>');
      const { contentType, body } = await metrics.exposition();
      return reply.type(contentType).header('cache-control', 'no-store').send(body);
    });
  }
  if (port) {
    const server = metricsServer(metrics);
    app.addHook('onListen', () => new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, config.host, () => resolve());
    }));
    app.addHook('onClose', () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())));
  }
}

/** Compares digests so that neither the token's length nor its prefix leaks through timing. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}

/** The tokenless metrics listener: GET /metrics and nothing else. */
function metricsServer(metrics: PromMetrics): Server {
  return createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.exposition().then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    );
  });
}

interface KnexPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

function addGauges(metrics: PromMetrics, deps: AppDeps, app: FastifyInstance): void {
  metrics.gauge('ai_active_replies', 'Replies generating on this instance.', () => deps.replies.runningCount);
  metrics.gauge('websocket_open_connections', 'Open WebSockets on this instance (graphql-ws and the legacy /v1/ws).', () => app.websocketServer?.clients.size ?? 0);
  const pool = (): KnexPool | undefined => {
    // The knex pool behind MikroORM's SQL drivers (tarn); undefined if a driver has none.
    const connection = deps.orm.em.getConnection() as unknown as { getKnex?: () => { client?: { pool?: KnexPool } } };
    return connection.getKnex?.().client?.pool;
  };
  metrics.labelledGauge('db_pool_connections', 'Database pool connections by state (used, free, pending acquires).', ['state'], async () => {
    const p = pool();
    return p ? [{ labels: { state: 'used' }, value: p.numUsed() }, { labels: { state: 'free' }, value: p.numFree() }, { labels: { state: 'pending' }, value: p.numPendingAcquires() }] : [];
  });
  // Payment events from the database (every instance's, and the truth); orders are a small table.
  metrics.labelledGauge('payment_orders', 'Payment orders ever created, and paid, by method (all instances).', ['event', 'method'], async () => {
    const table = deps.orm.em.getMetadata().get(PaymentOrder.name).tableName;
    const rows: Array<{ method: string; created: number | string; paid: number | string | null }> = await deps.orm.em
      .fork()
      .getConnection()
      .execute(`select method, count(*) as created, sum(case when paid_at is not null then 1 else 0 end) as paid from ${table} group by method`);
    return rows.flatMap((r) => [
      { labels: { event: 'created', method: String(r.method) }, value: Number(r.created) },
      { labels: { event: 'paid', method: String(r.method) }, value: Number(r.paid ?? 0) },
    ]);
  });
}
