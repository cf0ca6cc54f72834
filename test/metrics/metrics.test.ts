import { createServer } from 'node:net';
import { MeDocument, SendMessageFullDocument as SEND } from '../generated/graphql';
import { login } from '../helpers/accounts';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { parsePrometheus, valueOf, type Sample } from './prometheus-text';

const TOKEN = 'metrics-token-for-tests-0123456789';

async function scrape(url: string, token?: string): Promise<{ status: number; samples: Sample[]; contentType: string | null }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), samples: res.status === 200 ? parsePrometheus(text) : [] };
}

/** A port nothing listens on right now, for METRICS_PORT. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('GET /metrics with METRICS_TOKEN', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(() => t.close());

  it('answers 401 without a token and with a wrong one', async () => {
    expect((await scrape(`${t.url}/metrics`)).status).toBe(401);
    expect((await scrape(`${t.url}/metrics`, 'wrong')).status).toBe(401);
    expect((await scrape(`${t.url}/metrics`, `${TOKEN}x`)).status).toBe(401);
    const basic = await fetch(`${t.url}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
  });

  it('serves the Prometheus text format with process metrics and event-loop lag', async () => {
    const { status, samples, contentType } = await scrape(`${t.url}/metrics`, TOKEN);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const names = new Set(samples.map((s) => s.name));
    for (const name of ['process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds', 'ai_active_replies', 'websocket_open_connections', 'db_pool_connections']) expect(names).toContain(name);
  });

  it('moves with traffic: HTTP requests, GraphQL operations, errors, and a reply’s first token', async () => {
    const before = (await scrape(`${t.url}/metrics`, TOKEN)).samples;
    const user = await login(t);
    expect((await t.gql(MeDocument, {}, user)).status).toBe(200);
    const anonymous = await t.gql(MeDocument, {});
    expect(anonymous.body.errors![0].extensions.code).toBe('UNAUTHENTICATED');
    const reply = await t.gql(SEND, { input: { content: 'count me' } }, user);
    expect(reply.body.data!.sendMessage.reply.status).toBe('COMPLETE');
    const after = (await scrape(`${t.url}/metrics`, TOKEN)).samples;
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);

    // login, Me, sendMessage; the anonymous Me answered 401.
    expect(delta('http_request_duration_seconds_count', { route: '/graphql', method: 'POST', status: '200' })).toBe(3);
    expect(delta('http_request_duration_seconds_count', { route: '/graphql', method: 'POST', status: '401' })).toBe(1);
    expect(delta('graphql_operation_duration_seconds_count', { operation: 'Me' })).toBe(2);
    expect(delta('graphql_operation_duration_seconds_count', { operation: 'SendMessageFull' })).toBe(1);
    expect(delta('app_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    expect(delta('ai_first_token_seconds_count', { model: 'echo', upstream: 'builtin' })).toBe(1);
    expect(valueOf(after, 'ai_active_replies')).toBe(0);
  });
});

describe('GET /metrics off', () => {
  it('is 404 when neither METRICS_TOKEN nor METRICS_PORT is set', async () => {
    const t = await startTestApp();
    try {
      expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});

describe('GET /metrics on METRICS_PORT', () => {
  it('serves metrics without a token on its own port only, and closes it at shutdown', async () => {
    const port = await freePort();
    const t = await startTestApp({ env: { METRICS_PORT: String(port) } });
    let closed = false;
    try {
      const { status, samples } = await scrape(`http://127.0.0.1:${port}/metrics`);
      expect(status).toBe(200);
      expect(valueOf(samples, 'ai_active_replies')).toBe(0);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      expect((await fetch(`${t.url}/metrics`)).status).toBe(404);
      await t.close();
      closed = true;
      await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    } finally {
      if (!closed) await t.close();
    }
  });
});
