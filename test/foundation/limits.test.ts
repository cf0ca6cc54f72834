import { getIntrospectionQuery } from 'graphql';
import { login } from '../helpers/accounts';
import { saveChat } from '../helpers/chats';
import { openGraphqlWs } from '../helpers/raw-ws';
import { collect, startTestApp, type GqlResult, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { MAX_OPERATIONS_PER_SOCKET } from '../../src/sockets/graphql-ws';
import { ModelIdsDocument, type ModelIdsQuery } from '../generated/graphql';

/** `{ __schema { types { fields { type { ofType { ofType ... } } } } } }` nested `levels` deep. */
function deepQuery(levels: number): string {
  let inner = 'name';
  for (let i = 0; i < levels - 4; i++) inner = `ofType { ${inner} }`;
  return `{ __schema { types { fields { type { ${inner} } } } } }`;
}

const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: models { id }`).join(' ')} }`;

describe('query limits and request protection', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('refuses a 30-level-deep query with GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await t.gql(deepQuery(30));
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.body.errors?.[0].message).toMatch(/depth/i);
  });

  it("lets GraphiQL's own introspection query through", async () => {
    const res = await t.gql(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true }));
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect((res.body.data as { __schema: { queryType: { name: string } } }).__schema.queryType.name).toBe('Query');
  });

  it('refuses 200 aliases and accepts 15', async () => {
    const many = await t.gql(aliases(200));
    expect(many.status).toBe(400);
    expect(many.body.errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(many.body.errors?.[0].message).toMatch(/alias/i);
    const ok = await t.gql(aliases(15));
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body.data ?? {})).toHaveLength(15);
  });

  it('charges the same cost whether or not a selection is split into nested fragments', async () => {
    const fields = Array.from({ length: 6 }, () => 'id name type provider contextWindow isDefault').join(' ');
    const inline = `{ ${Array.from({ length: 15 }, (_, i) => `a${i}: models { ${fields} }`).join(' ')} }`;
    const nested = `fragment A on AiModel { ...B } fragment B on AiModel { ...C } fragment C on AiModel { ${fields} }
      { ${Array.from({ length: 15 }, (_, i) => `a${i}: models { ...A }`).join(' ')} }`;
    const a = await t.gql(inline);
    const b = await t.gql(nested);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.data).toEqual(a.body.data);
  });

  it('refuses more than 50 directives', async () => {
    const res = await t.gql(`{ models ${'@include(if: true) '.repeat(51)}{ id } }`);
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses a document of more than 2,000 tokens as a parse failure', async () => {
    const res = await t.gql(`{ models { ${'id '.repeat(2100)} } }`);
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(res.body.errors?.[0].message).toMatch(/tokens/);
  });

  it('refuses a body over the limit with PAYLOAD_TOO_LARGE (413), on /graphql and /v1', async () => {
    const big = JSON.stringify({ query: '{ models { id } }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } });
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    expect(((await res.json()) as GqlResult['body']).errors![0].extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
    const rest = await fetch(`${t.url}/v1/models`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect([404, 413]).toContain(rest.status);
  });

  it('refuses a GET query without a CSRF preflight header, and runs it with one', async () => {
    const q = encodeURIComponent('{ models { id } }');
    const bare = await fetch(`${t.url}/graphql?query=${q}`);
    expect(bare.status).toBe(400);
    const withHeader = await fetch(`${t.url}/graphql?query=${q}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(withHeader.status).toBe(200);
    expect(((await withHeader.json()) as GqlResult<ModelIdsQuery>['body']).data!.models[0].id).toBe('echo');
  });

  it('refuses a form-encoded POST (a simple CSRF request)', async () => {
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ models { id } }"}' });
    expect(res.status).toBe(400);
  });

  it('applies the same limits on graphql-ws: deep and aliased operations are refused, a normal one runs', async () => {
    const client = t.ws();
    const deep = await collect(client, deepQuery(30));
    expect(deep.results).toHaveLength(0);
    expect(JSON.stringify(deep.error)).toMatch(/depth/i);
    const many = await collect(client, aliases(200));
    expect(JSON.stringify(many.error)).toMatch(/alias/i);
    const tokens = await collect(client, `{ models { ${'id '.repeat(2100)} } }`);
    expect(JSON.stringify(tokens.error)).toMatch(/tokens/);
    const ok = await collect(client, ModelIdsDocument);
    expect(ok.error).toBeUndefined();
    expect(ok.results[0].data!.models[0].id).toBe('echo');
  });

  it('limits operations per graphql-ws socket, and frees a slot when one completes', async () => {
    const user = await login(t);
    const chat = await saveChat(t, user.token, { title: 'busy' });
    const ws = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${user.token}` });
    const subscribe = (id: string) =>
      ws.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: 'subscription($s: ID!) { chatEvents(sessionId: $s) { seq } }', variables: { s: chat.id } } }));
    const errorFor = (id: string) => ws.messages.find((x) => x.id === id && x.type === 'error') as { payload: Array<{ extensions: Record<string, unknown> }> } | undefined;
    for (let i = 1; i <= MAX_OPERATIONS_PER_SOCKET + 1; i++) subscribe(String(i));
    const refused = await waitFor(() => errorFor(String(MAX_OPERATIONS_PER_SOCKET + 1)), 2000, 'the refusal of one operation too many');
    expect(refused.payload[0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'TOO_MANY_OPERATIONS' } });
    expect(ws.messages.filter((m) => m.type === 'error')).toHaveLength(1);

    // The server handles one socket's messages in order and frees the slot as it reads the
    // `complete`, so the next subscribe already finds it free: no wait in between.
    ws.socket.send(JSON.stringify({ id: '1', type: 'complete' }));
    subscribe('again');
    // What is under test is that no refusal comes; one would be sent at once, so 300 ms of quiet is the check.
    await new Promise((r) => setTimeout(r, 300));
    expect(errorFor('again')).toBeUndefined();
    ws.socket.close();
  });

  it('closes a graphql-ws socket that sends a message over 256 KiB', async () => {
    // The client's mistake, not an internal error: nothing is printed (graphql-ws would console.error it).
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const ws = await openGraphqlWs(t.wsUrl);
      ws.socket.send(JSON.stringify({ id: 'big', type: 'subscribe', payload: { query: `{ models { id } } # ${'x'.repeat(300 * 1024)}` } }));
      expect((await ws.closed).code).toBe(1009);
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
    }
  });
});

describe('production mode', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: { NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(48), WECHAT_APP_ID: 'wx123', WECHAT_APP_SECRET: 'secret', ALLOW_ECHO_IN_PRODUCTION: 'true' },
    });
  });
  afterAll(() => t.close());

  it('turns introspection off', async () => {
    const res = await t.gql('{ __schema { queryType { name } } }');
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('serves no GraphiQL page', async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.headers.get('content-type')).not.toContain('text/html');
    const asset = await fetch(`${t.url}/graphiql-static/graphiql.min.js`);
    expect(asset.status).toBe(404);
  });

  it('still answers queries', async () => {
    const res = await t.gql(ModelIdsDocument);
    expect(res.body.data).toEqual({ models: [{ id: 'echo' }] });
  });
});

describe('CORS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { CORS_ORIGINS: 'https://app.example.com' } });
  });
  afterAll(() => t.close());

  it('allows a listed origin and not another one', async () => {
    const preflight = (origin: string) =>
      fetch(`${t.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
      });
    const ok = await preflight('https://app.example.com');
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const other = await preflight('https://evil.example.net');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
