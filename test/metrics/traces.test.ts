import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parseTracingConfig } from '../../src/config';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { LoginDocument, ProviderReplyDocument } from '../generated/graphql';
import { freshDatabaseUrl } from '../helpers/database';

/*
 * Traces end to end: the real process (src/index.ts, which loads src/tracing.ts before the
 * app, as instrumentation needs) exports over OTLP/HTTP JSON to a receiver here. In-process
 * test apps cannot do this: their http and graphql modules are loaded before any tracing.
 */

const ROOT = join(__dirname, '..', '..');
const USER_TEXT = 'private words 7f3a9c about my health';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: OtlpValue }>;
  events?: Array<{ name: string }>;
}
interface OtlpExport {
  resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value: OtlpValue }> }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

/** A minimal OTLP/HTTP collector: POST /v1/traces with a JSON body. */
async function startReceiver() {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    spans: (): OtlpSpan[] => bodies.flatMap((b) => ((JSON.parse(b) as OtlpExport).resourceSpans ?? []).flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => s.spans ?? []))),
    serviceNames: (): string[] =>
      bodies.flatMap((b) => ((JSON.parse(b) as OtlpExport).resourceSpans ?? []).flatMap((r) => (r.resource?.attributes ?? []).filter((a) => a.key === 'service.name').map((a) => a.value.stringValue ?? ''))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** src/index.ts in a process of its own; resolves with its URL once it logs that it listens. */
async function startServer(env: Record<string, string>) {
  const proc = spawn(process.execPath, ['-r', join(ROOT, 'test/helpers/swc-register.js'), join(ROOT, 'src/index.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', JWT_SECRET: 'traces-test-secret-long-enough-for-hs256', LOG_LEVEL: 'info', DATABASE_URL: freshDatabaseUrl(), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"listening on '));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    proc.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening`)));
  });
  return {
    url,
    /** SIGTERM, as an orchestrator stops it: the graceful shutdown flushes the exporter. */
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    kill: () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'),
  };
}

async function gql<R, V>(url: string, document: TypedDocumentNode<R, V>, variables: V, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return (await res.json()) as { data?: R | null; errors?: unknown[] };
}

const attr = (span: OtlpSpan, key: string): string | number | boolean | undefined => {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? v?.intValue ?? v?.boolValue;
};

const SERVER_KIND = 2;
const CLIENT_KIND = 3;

describe('OpenTelemetry traces', () => {
  let ai: FakeOpenAI;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const servers: Array<Awaited<ReturnType<typeof startServer>>> = [];

  beforeAll(async () => {
    ai = await startFakeOpenAI();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    for (const s of servers) s.kill();
    await ai.close();
    await receiver.close();
  });
  beforeEach(() => {
    receiver.bodies.length = 0;
  });

  const send = async (url: string, requestId: string) => {
    const login = await gql(url, LoginDocument, { input: { code: `traces-${requestId}` } });
    const token = login.data!.wechatLogin.token;
    const res = await gql(url, ProviderReplyDocument, { input: { content: USER_TEXT, stream: false } }, { authorization: `Bearer ${token}`, 'x-request-id': requestId });
    expect(res.errors).toBeUndefined();
    expect(res.data!.sendMessage.reply.status).toBe('COMPLETE');
    return token;
  };

  it('exports one trace per sendMessage: the HTTP request, the GraphQL operation, the reply and its provider call', async () => {
    const server = await startServer({ ...ai.env(), DEFAULT_MODEL: 'gpt-test', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'traces-test' });
    servers.push(server);
    const requestId = 'trace-req-4242';
    const token = await send(server.url, requestId);
    // Text written into the document itself (not as a variable) stays out too.
    const inline = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `mutation Inline { sendMessage(input: { content: ${JSON.stringify(USER_TEXT)}, stream: false }) { messageId } }` }),
    });
    expect(((await inline.json()) as { errors?: unknown }).errors).toBeUndefined();
    expect(await server.stop()).toBe(0);

    const spans = receiver.spans();
    expect(new Set(receiver.serviceNames())).toEqual(new Set(['traces-test']));
    const incoming = spans.filter((s) => s.kind === SERVER_KIND && attr(s, 'request.id') === requestId);
    expect(incoming).toHaveLength(1);
    const trace = spans.filter((s) => s.traceId === incoming[0].traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const ancestors = (span: OtlpSpan): OtlpSpan[] => {
      const up: OtlpSpan[] = [];
      for (let p = span.parentSpanId && byId.get(span.parentSpanId); p; p = p.parentSpanId && byId.get(p.parentSpanId)) up.push(p);
      return up;
    };
    // Every span of the trace hangs under the incoming request.
    for (const span of trace) if (span !== incoming[0]) expect(ancestors(span)).toContain(incoming[0]);

    const operation = trace.filter((s) => /ProviderReply|sendMessage/.test(s.name));
    expect(operation.length).toBeGreaterThanOrEqual(1);

    const replies = trace.filter((s) => s.name === 'reply.generate');
    expect(replies).toHaveLength(1);
    const reply = replies[0];
    expect(attr(reply, 'ai.model')).toBe('gpt-test');
    expect(attr(reply, 'reply.status')).toBe('COMPLETE');
    expect(attr(reply, 'ai.upstream')).toBe(ai.env().OPENAI_BASE_URL.replace(/\/$/, ''));
    expect((reply.events ?? []).map((e) => e.name)).toEqual(expect.arrayContaining(['provider.attempt', 'first_token']));

    const providerCalls = trace.filter((s) => s.kind === CLIENT_KIND && String(attr(s, 'url.full') ?? '').startsWith(ai.env().OPENAI_BASE_URL.replace(/\/$/, '')));
    expect(providerCalls).toHaveLength(1);
    expect(ancestors(providerCalls[0])).toContain(reply);

    for (const span of [incoming[0], ...operation, reply, providerCalls[0]]) expect(attr(span, 'request.id')).toBe(requestId);

    // Nothing users wrote, nor any credential, leaves in a trace.
    const exported = receiver.bodies.join('\n');
    expect(exported).not.toContain('7f3a9c');
    expect(exported).not.toContain(token);
    expect(exported).not.toContain(ai.env().OPENAI_API_KEY);
    expect(exported).not.toContain(ai.calls[ai.calls.length - 1].reply!);
  });

  it('without OTEL_EXPORTER_OTLP_ENDPOINT, exports nothing', async () => {
    const server = await startServer({ ...ai.env(), DEFAULT_MODEL: 'gpt-test' });
    servers.push(server);
    await send(server.url, 'untraced-req-1');
    expect(await server.stop()).toBe(0);
    expect(receiver.bodies).toEqual([]);
  });

  it('reads the endpoint and service name from the standard variables', () => {
    expect(parseTracingConfig({})).toBeUndefined();
    expect(parseTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBeUndefined();
    expect(parseTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({ tracesUrl: 'http://collector:4318/v1/traces', serviceName: 'chat-assistant-server' });
    expect(parseTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SERVICE_NAME: 'chat-eu' })?.serviceName).toBe('chat-eu');
  });
});
