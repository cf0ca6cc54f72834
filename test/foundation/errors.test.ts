import { captureLogs } from '../helpers/log-capture';
import { startTestApp, type GqlResult, type TestApp } from '../helpers/test-app';
import { ECHO_MODEL, ModelCatalog } from '../../src/models/model-catalog';
import { parseConfig } from '../../src/config';
import { ModelIdsDocument, ModelsDocument } from '../generated/graphql';

/** The parts of a logged line these tests read. */
interface LogLine {
  msg: string;
  requestId?: string;
  err?: { message: string; stack: string };
}

describe('one real query through GraphQL and REST', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('lists the built-in echo model over GraphQL', async () => {
    const res = await t.gql(ModelsDocument);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({
      models: [{ id: 'echo', name: ECHO_MODEL.name, type: 'chat', provider: 'builtin', contextWindow: null, isDefault: true }],
    });
  });

  it('lists the same catalog at GET /v1/models in the envelope', async () => {
    const res = await t.rest('GET', '/v1/models');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      code: 200,
      message: 'success',
      data: [{ id: 'echo', name: ECHO_MODEL.name, type: 'chat', provider: 'builtin', contextWindow: null, isDefault: true }],
    });
  });

  it('answers a syntax error with GRAPHQL_PARSE_FAILED and HTTP 400', async () => {
    const res = await t.gql('{ models { id ');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'GRAPHQL_PARSE_FAILED', status: 400 });
  });

  it('answers an unknown field with GRAPHQL_VALIDATION_FAILED, 400, and no suggestion leak', async () => {
    const res = await t.gql('{ models { id nam } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', status: 400 });
    expect(res.body.errors?.[0].message).not.toContain('Did you mean');
  });

  it('answers bad variables with BAD_USER_INPUT and 400', async () => {
    const res = await t.gql('query Q($b: Boolean!) { models @include(if: $b) { id } }', { b: 'not a boolean' });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
  });

  it('answers an unknown REST route with a 404 envelope', async () => {
    const res = await t.rest('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 404, data: null, error: { code: 404 } });
  });

  it('answers malformed JSON with BAD_REQUEST, in the envelope on /v1', async () => {
    const res = await fetch(`${t.url}/v1/models`, { method: 'GET' });
    expect(res.status).toBe(200);
    const bad = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as GqlResult['body'];
    expect(body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
  });

  it('echoes a sane x-request-id and replaces an unsafe one', async () => {
    const ok = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers.get('x-request-id')).toBe('abc-123');
    const unsafe = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends security headers', async () => {
    const res = await fetch(`${t.url}/healthz`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('describes the REST table in /v1/openapi.json (OpenAPI 3.1)', async () => {
    const res = await fetch(`${t.url}/v1/openapi.json`);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/models');
    expect(Object.keys(doc.paths)).not.toContain('/graphql');
    expect(Object.keys(doc.paths)).not.toContain('/healthz');
  });

  it('lists the two payment notification routes in /v1/openapi.json with their shapes', async () => {
    type Operation = { summary: string; requestBody: { content: Record<string, unknown> }; responses: Record<string, { content?: Record<string, unknown> }> };
    const doc = (await (await fetch(`${t.url}/v1/openapi.json`)).json()) as { paths: Record<string, { post?: Operation }> };
    const wechat = doc.paths['/v1/pay/wechat/notify']?.post;
    const alipay = doc.paths['/v1/pay/alipay/notify']?.post;
    expect(wechat?.summary).toBe('WeChat Pay payment notification (called by WeChat Pay, not by clients)');
    expect(Object.keys(wechat!.requestBody.content)).toEqual(['application/json']);
    expect(Object.keys(wechat!.responses).sort()).toEqual(['204', '4XX', '5XX']);
    expect(alipay?.summary).toBe('Alipay payment notification (called by Alipay, not by clients)');
    expect(Object.keys(alipay!.requestBody.content)).toEqual(['application/x-www-form-urlencoded']);
    expect(alipay!.responses['200'].content).toEqual({ 'text/plain': { schema: { type: 'string', enum: ['success', 'fail'] } } });
  });

  it('names the allowed values of an enum given a wrong one, in variables and in literals', async () => {
    const variable = await t.gql('query Q($m: PaymentMethod!) { paymentStatus(paymentMethod: $m, orderId: "o1") { status } }', { m: 'WX' });
    expect(variable.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
    expect(variable.body.errors?.[0].message).toBe('Variable "$m" got invalid value "WX"; Value "WX" does not exist in "PaymentMethod" enum; expected one of: WECHAT, ALIPAY, WECHAT_VIRTUAL.');
    const literal = await t.gql('{ paymentStatus(paymentMethod: WX, orderId: "o1") { status } }');
    expect(literal.body.errors?.[0].extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', status: 400 });
    expect(literal.body.errors?.[0].message).toBe('Value "WX" does not exist in "PaymentMethod" enum; expected one of: WECHAT, ALIPAY, WECHAT_VIRTUAL.');
    const role = await t.gql('mutation { saveChat(input: { messages: [{ role: ROBOT, content: "x" }] }) { id } }');
    expect(role.body.errors?.[0].message).toBe('Value "ROBOT" does not exist in "Role" enum; expected one of: USER, ASSISTANT, SYSTEM.');
  });
});

describe('an unexpected failure inside a service', () => {
  const config = parseConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40) });
  const logs = captureLogs(config);
  class BrokenCatalog extends ModelCatalog {
    override list(): never {
      throw new Error('connection refused to db-password=hunter2');
    }
  }
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ overrides: { catalog: new BrokenCatalog([ECHO_MODEL]), logger: logs.logger } });
  });
  afterAll(() => t.close());

  it('is INTERNAL_SERVER_ERROR with a generic message and 500 over GraphQL, and logged with its stack', async () => {
    const res = await t.gql(ModelIdsDocument);
    expect(res.status).toBe(500);
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR', status: 500 } });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    const logged = logs.lines.map((l) => JSON.parse(l) as LogLine).find((l) => l.msg === 'unexpected error')!;
    expect(logged.err!.message).toContain('connection refused');
    expect(logged.err!.stack).toContain('list');
    expect(logged.requestId).toEqual(expect.any(String));
  });

  it('is a 500 envelope over REST with the same generic message', async () => {
    const res = await t.rest('GET', '/v1/models');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      code: 500,
      message: 'Internal server error',
      data: null,
      error: { code: 500, message: 'Internal server error' },
    });
  });
});
