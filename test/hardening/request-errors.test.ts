import { createHash } from 'node:crypto';
import { login, rows } from '../helpers/accounts';
import { connectLegacy } from '../helpers/legacy-ws';
import { openGraphqlWs } from '../helpers/raw-ws';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { dbState } from './db-state';

/*
 * Requests that used to answer 500 although the client was at fault: each now gets a 4xx
 * with the right code, and changes nothing.
 */

const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** POST /graphql with any body, for requests the typed helper cannot express. */
async function post(t: TestApp, body: unknown, token?: string) {
  const res = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: Array<{ message: string; extensions: { code: string; status: number; details?: unknown } }> } };
}

describe('client mistakes answered as such', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    ({ token } = await login(t));
  });
  afterAll(() => t.close());

  describe('forged cursors', () => {
    const CHATS = 'query($a: String) { chats(after: $a) { totalCount } }';
    const SEARCH = 'query($a: String) { searchChats(query: "a", after: $a) { totalCount } }';
    const ORDERS = 'query($a: String) { orders(after: $a) { totalCount } }';
    it.each([
      ['chats, a time of 1e300', CHATS, { s: Date.now(), t: 1e300, i: 'x' }],
      ['chats, a snapshot past the year 9999', CHATS, { s: 1e17, t: 1, i: 'x' }],
      ['chats, a negative time', CHATS, { s: Date.now(), t: -1, i: 'x' }],
      ['searchChats, a fractional rank', SEARCH, { r: 1.5, t: Date.now(), i: 'x' }],
      ['searchChats, a time past the year 9999', SEARCH, { r: 0, t: 2.6e14, i: 'x' }],
      ['orders, a time before 1970', ORDERS, { t: -1e15, id: 'x' }],
      ['orders, an id with a NUL', ORDERS, { t: 1, id: '\u0000' }],
    ])('%s: BAD_REQUEST / MALFORMED_CURSOR', async (_name, query, value) => {
      const res = await t.gql(query, { a: cursor(value) }, { token });
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0].extensions).toEqual({ code: 'BAD_REQUEST', status: 400, details: { field: 'after', reason: 'MALFORMED_CURSOR' } });
    });

    it('still accepts the cursors the API issues', async () => {
      for (let i = 0; i < 3; i++) await t.gql('mutation { saveChat(input: { messages: [] }) { id } }', {}, { token });
      const first = await t.gql<{ chats: { pageInfo: { endCursor: string } } }>('{ chats(first: 2) { pageInfo { endCursor } } }', {}, { token });
      const next = await t.gql<{ chats: { nodes: unknown[] } }>('query($a: String) { chats(first: 2, after: $a) { nodes { id } } }', { a: first.body.data!.chats.pageInfo.endCursor }, { token });
      expect(next.body.data?.chats.nodes).toHaveLength(1);
    });
  });

  describe('persisted-query extensions', () => {
    const query = '{ models { id } }';
    const sha = createHash('sha256').update(query).digest('hex');

    it.each([
      ['an unknown hash without a query', 'PERSISTED_QUERY_NOT_FOUND', { extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }],
      ['a hash that does not match the query', 'PERSISTED_QUERY_NOT_SUPPORTED', { query, extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } }],
      ['version 2', 'PERSISTED_QUERY_NOT_SUPPORTED', { query, extensions: { persistedQuery: { version: 2, sha256Hash: sha } } }],
      ['a persistedQuery that is a number', 'PERSISTED_QUERY_NOT_SUPPORTED', { query, extensions: { persistedQuery: 5 } }],
    ])('%s is a 400 with Apollo code %s', async (_name, code, body) => {
      const res = await post(t, body);
      expect(res.status).toBe(400);
      expect(res.body.errors?.[0].extensions).toEqual({ code, status: 400 });
    });

    it('still serves a registered persisted query by its hash', async () => {
      expect((await post(t, { query, extensions: { persistedQuery: { version: 1, sha256Hash: sha } } })).status).toBe(200);
      const byHash = await post(t, { extensions: { persistedQuery: { version: 1, sha256Hash: sha } } });
      expect(byHash).toEqual({ status: 200, body: { data: { models: [{ id: 'echo' }] } } });
    });
  });

  it('refuses a subscription sent as a plain HTTP request with 400 and says where to send it', async () => {
    const res = await post(t, { query: 'subscription { chatEvents(sessionId: "01m8y0v228hz5x7s28xkc7m6m4") { seq } }' }, token);
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toMatchObject({ message: expect.stringContaining('graphql-ws'), extensions: { code: 'BAD_REQUEST', status: 400, details: { reason: 'UNSUPPORTED' } } });
    const get = await fetch(`${t.url}/graphql?query=${encodeURIComponent('subscription { paymentStatusChanged(orderId: "o") { status } }')}`, { headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${token}` } });
    expect(get.status).toBe(400);
  });

  it('still runs subscriptions over graphql-ws, where they belong', async () => {
    const sent = await t.gql<{ sendMessage: { messageId: string } }>('mutation { sendMessage(input: { content: "one two" }) { messageId } }', {}, { token });
    const ws = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${token}` });
    try {
      ws.socket.send(JSON.stringify({ id: 'r', type: 'subscribe', payload: { query: 'subscription($m: ID!) { replyStream(messageId: $m) { seq done message { content } } }', variables: { m: sent.body.data!.sendMessage.messageId } } }));
      await waitFor(() => ws.messages.some((m) => m.id === 'r' && m.type === 'complete'), 5000, 'the subscription to complete');
      expect(ws.messages.filter((m) => m.id === 'r')).toEqual([
        { id: 'r', type: 'next', payload: { data: { replyStream: { seq: expect.any(Number), done: true, message: { content: 'one two' } } } } },
        { id: 'r', type: 'complete' },
      ]);
    } finally {
      ws.socket.close();
    }
  });

  describe('graphql-ws documents that name no single operation, or bad variables', () => {
    it.each([
      ['two anonymous operations', 'GRAPHQL_VALIDATION_FAILED', { query: '{ models { id } } { models { name } }' }],
      ['two named operations and no operationName', 'OPERATION_RESOLUTION_FAILURE', { query: 'query A { models { id } } query B { models { name } }' }],
      ['two subscriptions and no operationName', 'OPERATION_RESOLUTION_FAILURE', { query: 'subscription A { chatEvents(sessionId: "a") { seq } } subscription B { chatEvents(sessionId: "b") { seq } }' }],
      ['an operationName the document lacks', 'OPERATION_RESOLUTION_FAILURE', { query: 'query A { models { id } }', operationName: 'Z' }],
      ['a variable of the wrong type', 'BAD_USER_INPUT', { query: 'query($f: Int) { chats(first: $f) { totalCount } }', variables: { f: 'x' } }],
      ['a required variable left out', 'BAD_USER_INPUT', { query: 'query($id: ID!) { chat(id: $id) { id } }', variables: {} }],
    ])('%s: an error message with %s (400)', async (_name, code, payload) => {
      const ws = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${token}` });
      try {
        ws.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload }));
        const answer = await waitFor(() => ws.messages.find((m) => m.id === '1'), 5000, 'the answer');
        expect(answer.type).toBe('error');
        const errors = answer.payload as Array<{ extensions: unknown }>;
        for (const e of errors) expect(e.extensions).toEqual({ code, status: 400 });
      } finally {
        ws.socket.close();
      }
    });
  });

  describe('a validly signed token of a deleted user', () => {
    it('is UNAUTHENTICATED on every transport and writes nothing', async () => {
      const gone = await login(t);
      await rows(t, 'delete from users where id = ?', [gone.userId]);
      const before = await dbState(t);

      for (const query of ['mutation { saveChat(input: { messages: [] }) { id } }', 'mutation { sendMessage(input: { content: "hi" }) { messageId } }', 'mutation { createApiKey(name: "k") { secret } }', '{ me { id } }']) {
        const res = await t.gql(query, {}, { token: gone.token });
        expect([query, res.status, res.body.errors?.[0].extensions.code]).toEqual([query, 401, 'UNAUTHENTICATED']);
      }
      const rest = await t.rest('POST', '/v1/chats', { token: gone.token, body: { messages: [] } });
      expect(rest.status).toBe(401);

      const ws = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${gone.token}` });
      expect(ws.acked).toBe(false);
      expect((await ws.closed).code).toBe(4403);

      const legacy = await connectLegacy(t.url);
      legacy.send({ type: 'auth', token: gone.token });
      expect(await legacy.closed()).toEqual({ code: 4401, reason: 'Account not found' });

      expect(await dbState(t)).toBe(before);
    });
  });
});
