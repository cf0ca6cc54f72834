import { login } from '../helpers/accounts';
import { connectLegacy } from '../helpers/legacy-ws';
import { openGraphqlWs } from '../helpers/raw-ws';
import { startTestApp, type GqlResult, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { dbState } from './db-state';

/*
 * Text is valid Unicode or refused with BAD_REQUEST / INVALID_TEXT, NUL included, before
 * anything is written, on every transport and database. Before, a NUL was a 500 on SQLite
 * and a lone surrogate was stored as U+FFFD on MySQL (as itself on SQLite).
 */

const SAVE = 'mutation($i: SaveChatInput!) { saveChat(input: $i) { id title messages { content } } }';
const NUL = 'a\u0000b';
const LONE_HIGH = '\ud83d';
const LONE_LOW = '\ude00';

const invalidText = (field: string) => ({ code: 'BAD_REQUEST', status: 400, details: { field, reason: 'INVALID_TEXT' } });

function firstError(res: GqlResult): unknown {
  return res.body.errors?.[0]?.extensions;
}

describe('text inputs', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    ({ token } = await login(t));
  });
  afterAll(() => t.close());

  it.each([
    ['a NUL in a title', { title: NUL, messages: [] }, 'title'],
    ['200 lone surrogates as a title (stored as 200 U+FFFD on MySQL before)', { title: LONE_HIGH.repeat(200), messages: [] }, 'title'],
    ['a lone low surrogate in a nested message', { messages: [{ role: 'USER', content: 'ok' }, { role: 'USER', content: `x${LONE_LOW}` }] }, 'messages.1.content'],
    ['a NUL in a tag', { messages: [], tags: ['fine', NUL] }, 'tags.1'],
  ])('refuses %s in GraphQL variables, naming the field, and stores nothing', async (_name, input, field) => {
    const before = await dbState(t);
    const res = await t.gql(SAVE, { i: input }, { token });
    expect(res.status).toBe(400);
    expect(res.body.data).toBeNull();
    expect(firstError(res)).toEqual(invalidText(field));
    expect(await dbState(t)).toBe(before);
  });

  it('keeps well-formed text exactly, surrogate pairs and all', async () => {
    const text = '😀 emoji, 中文, e\u0301, a\ttab';
    const res = await t.gql<{ saveChat: { title: string; messages: Array<{ content: string }> } }>(SAVE, { i: { title: text, messages: [{ role: 'USER', content: text }] } }, { token });
    expect(res.body.data?.saveChat).toMatchObject({ title: text, messages: [{ content: text }] });
  });

  it('checks literal arguments, nested field arguments and arguments inside fragments alike', async () => {
    const before = await dbState(t);
    const literal = await t.gql('mutation { createApiKey(name: "key\\u0000") { secret } }', {}, { token });
    expect(literal.status).toBe(400);
    expect(firstError(literal)).toEqual(invalidText('name'));
    const chat = await t.gql<{ saveChat: { id: string } }>(SAVE, { i: { messages: [] } }, { token });
    const nested = await t.gql('query($id: ID!, $b: ID) { chat(id: $id) { messages(before: $b) { id } } }', { id: chat.body.data!.saveChat.id, b: LONE_LOW }, { token });
    expect(firstError(nested)).toEqual(invalidText('before'));
    const state = await dbState(t);
    const fragment = await t.gql('query { ...Search } fragment Search on Query { searchChats(query: "\\u0000") { totalCount } }', {}, { token });
    expect(firstError(fragment)).toEqual(invalidText('query'));
    expect(await dbState(t)).toBe(state);
    expect(state).not.toBe(before); // the one chat saved on purpose
  });

  it('refuses the whole operation: an earlier valid mutation field does not run either', async () => {
    const before = await dbState(t);
    const res = await t.gql(
      'mutation($a: SaveChatInput!, $b: SaveChatInput!) { a: saveChat(input: $a) { id } b: saveChat(input: $b) { id } }',
      { a: { title: 'valid', messages: [] }, b: { title: NUL, messages: [] } },
      { token },
    );
    expect(res.status).toBe(400);
    expect(res.body.data).toBeNull();
    // Refused at the first field, the valid one, before it ran.
    expect(res.body.errors?.map((e) => [e.path, e.extensions.details])).toEqual([[['a'], { field: 'title', reason: 'INVALID_TEXT' }]]);
    expect(await dbState(t)).toBe(before);
  });

  it('applies to REST bodies and query strings, which run the same operations', async () => {
    const before = await dbState(t);
    const chat = await t.rest('POST', '/v1/chats', { token, body: { title: LONE_HIGH, messages: [] } });
    expect(chat.status).toBe(400);
    expect(chat.body.error).toEqual({ code: 400, message: expect.stringContaining('valid Unicode'), details: { field: 'title', reason: 'INVALID_TEXT' } });
    const ai = await t.rest('POST', '/v1/ai/message', { token, body: { message: NUL } });
    expect(ai.body.error?.details).toEqual({ field: 'content', reason: 'INVALID_TEXT' });
    const search = await t.rest('GET', `/v1/chats/search?q=${encodeURIComponent(NUL)}`, { token });
    expect(search.status).toBe(400);
    expect(search.body.error?.details).toEqual({ field: 'query', reason: 'INVALID_TEXT' });
    expect(await dbState(t)).toBe(before);
  });

  it('applies to graphql-ws operations, subscriptions included', async () => {
    const before = await dbState(t);
    const ws = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${token}` });
    try {
      ws.socket.send(JSON.stringify({ id: 'm', type: 'subscribe', payload: { query: SAVE, variables: { i: { title: NUL, messages: [] } } } }));
      ws.socket.send(JSON.stringify({ id: 's', type: 'subscribe', payload: { query: 'subscription($m: ID!) { replyStream(messageId: $m) { seq } }', variables: { m: LONE_HIGH } } }));
      const errorsOf = (id: string) => ws.messages.find((m) => m.id === id && m.type === 'next')?.payload as { errors?: Array<{ extensions: unknown }> } | undefined;
      await waitFor(() => errorsOf('m') && errorsOf('s'), 5000, 'both answers');
      expect(errorsOf('m')?.errors?.[0].extensions).toEqual(invalidText('title'));
      expect(errorsOf('s')?.errors?.[0].extensions).toEqual(invalidText('messageId'));
    } finally {
      ws.socket.close();
    }
    expect(await dbState(t)).toBe(before);
  });

  it('applies to the legacy socket, naming the frame field', async () => {
    const before = await dbState(t);
    const legacy = await connectLegacy(t.url);
    try {
      legacy.send({ type: 'auth', token });
      await legacy.waitFor((f) => f.type === 'auth');
      legacy.send({ type: 'message', data: { content: NUL, clientMessageId: 'l-1' } });
      legacy.send({ type: 'message', data: { content: 'hello', chatId: LONE_LOW, clientMessageId: 'l-2' } });
      const first = await legacy.waitFor((f) => f.type === 'error' && f.data.clientMessageId === 'l-1');
      const second = await legacy.waitFor((f) => f.type === 'error' && f.data.clientMessageId === 'l-2');
      expect(first.data).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'content', reason: 'INVALID_TEXT' } });
      expect(second.data).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'chatId', reason: 'INVALID_TEXT' } });
    } finally {
      legacy.socket.close();
    }
    expect(await dbState(t)).toBe(before);
  });
});
