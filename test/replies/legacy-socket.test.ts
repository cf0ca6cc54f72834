import WebSocket from 'ws';
import { TokenService } from '../../src/accounts/token.service';
import { login, rows } from '../helpers/accounts';
import { connectLegacy as connect } from '../helpers/legacy-ws';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { CreateApiKeyDocument, LogoutDocument, RevokeApiKeyDocument, SendMessageDocument } from '../generated/graphql';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

type Client = Awaited<ReturnType<typeof connect>>;

describe('legacy WebSocket /v1/ws', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  const sockets: WebSocket[] = [];
  const open = async () => {
    const c = await connect(t.url);
    sockets.push(c.socket);
    return c;
  };
  const signedIn = async (credential: Record<string, unknown>): Promise<Client> => {
    const c = await open();
    c.send({ type: 'auth', ...credential });
    await c.waitFor((f) => f.type === 'auth');
    return c;
  };
  const doneFor = (c: Client, messageId?: string) => c.waitFor((f) => f.type === 'message' && f.data.done && (!messageId || f.data.messageId === messageId));

  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 3 });
    t = await startTestApp({ env: { ...ai.env(), DEFAULT_MODEL: 'gpt-test' } });
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    await t.close();
    await ai.close();
  });

  it('refuses a ping before auth with 4401, answers auth with the user id and then ping with pong; every frame has an ISO timestamp', async () => {
    const { token, userId } = await login(t);
    const early = await open();
    early.send({ type: 'ping' });
    expect((await early.waitFor((f) => f.type === 'error')).data).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await early.closed()).code).toBe(4401);

    const c = await open();
    c.send({ type: 'auth', token, timestamp: new Date().toISOString() });
    expect((await c.waitFor((f) => f.type === 'auth')).data).toEqual({ ok: true, userId });
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
    expect(c.frames.map((f) => f.type)).toEqual(['auth', 'pong']);
    for (const f of c.frames) expect(f.timestamp).toMatch(ISO);
  });

  it('accepts the token in data, with a Bearer prefix, and an API key in data', async () => {
    const { token, userId } = await login(t);
    expect((await (await signedIn({ data: { token: `Bearer ${token}` } })).waitFor((f) => f.type === 'auth')).data).toEqual({ ok: true, userId });
    const created = await t.gql(CreateApiKeyDocument, { name: 'legacy' }, { token });
    const c = await signedIn({ data: { apiKey: created.body.data!.createApiKey.secret } });
    expect(c.ofType('auth')[0].data).toEqual({ ok: true, userId });
  });

  it('lets a later auth frame renew the credential of the same user, but not switch users', async () => {
    const first = await login(t, 'legacy-renew');
    const c = await signedIn({ token: first.token });
    const renewed = await login(t, 'legacy-renew');
    c.send({ type: 'auth', token: renewed.token });
    await c.waitFor(() => c.ofType('auth').length === 2);
    expect(c.ofType('auth')[1].data).toEqual({ ok: true, userId: first.userId });
    // The socket now lives on the renewed token: logging the first one out leaves it open.
    await t.gql(LogoutDocument, {}, { token: first.token });
    c.send({ type: 'auth', token: (await login(t)).token });
    expect((await c.waitFor((f) => f.type === 'error')).data).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'ALREADY_AUTHENTICATED' } });
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
    await t.gql(LogoutDocument, {}, { token: renewed.token });
    expect((await c.closed()).code).toBe(4401);
  });

  it('streams a reply: increasing seq, deltas that add up to the final content, which is what was stored', async () => {
    const { token } = await login(t);
    const c = await signedIn({ token });
    ai.delayMs = 5; // chunks a few ms apart, so they stream as separate deltas
    c.send({ type: 'message', data: { content: '讲个笑话吧，好不好', role: 'user' } });
    const done = await doneFor(c);
    ai.delayMs = 0;
    const deltas = c.ofType('message').filter((f) => !f.data.done);
    expect(deltas.length).toBeGreaterThan(1);
    const seqs = deltas.map((f) => f.data.seq!);
    seqs.forEach((seq, i) => i > 0 && expect(seq).toBeGreaterThan(seqs[i - 1]));
    expect(done.data.seq).toBeGreaterThan(seqs.at(-1)!);
    expect(deltas.every((f) => f.data.messageId === done.data.messageId && f.data.chatId === done.data.chatId)).toBe(true);
    expect(deltas.map((f) => f.data.delta).join('')).toBe(done.data.content);
    expect(done.data).toMatchObject({ content: 'Echo: 讲个笑话吧，好不好', status: 'COMPLETE', delta: '' });
    // The fake's usage rule: prompt = characters sent, completion = characters of the reply.
    expect(done.data.usage).toEqual({ prompt_tokens: 9, completion_tokens: 15, total_tokens: 24 });
    const [stored] = await rows(t, 'select content, status, chat_id, total_tokens from messages where id = ?', [done.data.messageId]);
    expect(stored).toEqual({ content: done.data.content, status: 'COMPLETE', chat_id: done.data.chatId, total_tokens: 24 });

    // chatId continues the same chat.
    c.send({ type: 'message', data: { content: 'again', chatId: done.data.chatId } });
    const second = await c.waitFor((f) => f.type === 'message' && f.data.done && f.data.messageId !== done.data.messageId);
    expect(second.data).toMatchObject({ chatId: done.data.chatId, content: 'Echo: again' });
    expect((await rows(t, 'select count(*) as n from messages where chat_id = ?', [done.data.chatId]))[0].n).toEqual(4);
  });

  it('streams several replies at once on one socket, and refuses one over the concurrency limit with RATE_LIMITED', async () => {
    const { token } = await login(t);
    const c = await signedIn({ token });
    ai.nextModes.push('slow', 'slow', 'slow');
    for (const word of ['one', 'two', 'three', 'four']) c.send({ type: 'message', data: { content: `word ${word}`, clientMessageId: word } });
    const limited = await c.waitFor((f) => f.type === 'error');
    expect(limited.data).toMatchObject({ code: 'RATE_LIMITED', clientMessageId: 'four', retryAfterSeconds: expect.any(Number) });
    const dones = () => c.ofType('message').filter((f) => f.data.done);
    await c.waitFor(() => dones().length >= 3, 10_000);
    const finals = dones();
    expect(finals.map((f) => f.data.content).sort()).toEqual(['Echo: word one', 'Echo: word three', 'Echo: word two']);
    // They overlapped: a later reply's first delta came before an earlier reply's last one.
    const messageFrames = c.ofType('message');
    const firstOfLast = messageFrames.findIndex((f) => f.data.messageId === finals.at(-1)!.data.messageId);
    expect(firstOfLast).toBeLessThan(messageFrames.indexOf(finals[0]));
    for (const final of finals) {
      const deltas = c.ofType('message').filter((f) => f.data.messageId === final.data.messageId && !f.data.done);
      expect(deltas.map((f) => f.data.delta).join('')).toBe(final.data.content);
    }
  });

  it.each([
    ['a message before auth', { type: 'message', data: { content: 'hi' } }],
    ['bad JSON before auth', 'not json'],
    ['an auth frame without a credential', { type: 'auth', data: {} }],
  ])('sends an UNAUTHENTICATED error frame and closes with 4401 on %s', async (_label, frame) => {
    const c = await open();
    c.send(frame);
    expect((await c.waitFor((f) => f.type === 'error')).data.code).toBe('UNAUTHENTICATED');
    expect((await c.closed()).code).toBe(4401);
  });

  it('refuses a bad, a tampered, an expired and a revoked token with 4401', async () => {
    const { token, userId } = await login(t);
    const expired = await new TokenService(t.config.jwt.secret, 60).issue(userId, new Date(Date.now() - 3600_000));
    const revoked = await login(t);
    expect((await t.gql(LogoutDocument, {}, { token: revoked.token })).body.data!.logout).toBe(true);
    for (const [bad, message] of [
      ['garbage', expect.any(String)],
      [`${token}x`, expect.any(String)],
      [expired.token, expect.stringMatching(/expired/i)],
      [revoked.token, 'Token revoked'],
    ]) {
      const c = await open();
      c.send({ type: 'auth', token: bad });
      const error = await c.waitFor((f) => f.type === 'error');
      expect(error.data).toEqual({ code: 'UNAUTHENTICATED', message });
      expect(await c.closed()).toEqual({ code: 4401, reason: error.data.message });
      expect(c.ofType('auth')).toEqual([]);
    }
  });

  it("reports bad input and others' chats with the API's error codes, and stays open", async () => {
    const owner = await login(t);
    const other = await login(t);
    const chatId = (await t.gql(SendMessageDocument, { input: { content: 'mine' } }, { token: owner.token })).body.data!.sendMessage.sessionId;
    const c = await signedIn({ token: other.token });
    const errorNumber = async (n: number) => (await c.waitFor(() => c.ofType('error').length >= n)) && c.ofType('error')[n - 1].data;

    c.send({ type: 'message', data: { content: 'intrude', chatId } });
    expect(await errorNumber(1)).toEqual({ code: 'NOT_FOUND', message: 'Chat not found' });
    c.send({ type: 'message', data: { content: '' } });
    expect(await errorNumber(2)).toEqual({ code: 'BAD_REQUEST', message: expect.any(String), details: { field: 'content', reason: 'EMPTY' } });
    c.send({ type: 'message', data: { content: 'x'.repeat(32_001) } });
    expect((await errorNumber(3))!.details).toEqual({ field: 'content', reason: 'TOO_LONG' });
    c.send('{not json');
    expect(await errorNumber(4)).toEqual({ code: 'BAD_REQUEST', message: expect.any(String), details: { reason: 'MALFORMED_FRAME' } });
    c.send({ type: 'dance' });
    expect(await errorNumber(5)).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'type', reason: 'UNKNOWN_TYPE' } });
    c.send({ type: 'message' });
    expect(await errorNumber(6)).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'data', reason: 'REQUIRED' } });
    c.send({ type: 'message', data: { content: 'hi', role: 'assistant' } });
    expect(await errorNumber(7)).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'role', reason: 'UNSUPPORTED' } });
    c.send({ type: 'message', data: { content: 'hi', modelId: 'no-such-model' } });
    expect(await errorNumber(8)).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'modelId', reason: 'UNKNOWN_MODEL' } });

    for (const e of c.ofType('error')) expect(JSON.stringify(e)).not.toMatch(/stack|at .*\.ts/);
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
    expect(c.socket.readyState).toBe(WebSocket.OPEN);
    // Nothing was stored for the refused messages: only the owner's chat exists.
    expect(await rows(t, 'select count(*) as n from messages where user_id = ?', [other.userId])).toEqual([{ n: 0 }]);
  });

  it('reports a reply that fails upstream as UPSTREAM_ERROR, in the final frame and an error frame', async () => {
    const { token } = await login(t);
    const c = await signedIn({ token });
    ai.nextModes.push('error500', 'error500', 'error500');
    c.send({ type: 'message', data: { content: 'fail' } });
    const done = await doneFor(c);
    expect(done.data).toMatchObject({ status: 'FAILED', content: '', error: { code: 'UPSTREAM_ERROR' } });
    const error = await c.waitFor((f) => f.type === 'error');
    expect(error.data).toMatchObject({ code: 'UPSTREAM_ERROR', messageId: done.data.messageId, chatId: done.data.chatId });
    expect(c.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('closes the socket with 4401 when its token is logged out', async () => {
    const { token } = await login(t);
    const c = await signedIn({ token });
    const bystander = await signedIn({ token: (await login(t)).token });
    await t.gql(LogoutDocument, {}, { token });
    expect(await c.closed()).toEqual({ code: 4401, reason: 'Token revoked' });
    expect(c.ofType('error').at(-1)?.data).toEqual({ code: 'UNAUTHENTICATED', message: 'Token revoked' });
    bystander.send({ type: 'ping' });
    await bystander.waitFor((f) => f.type === 'pong');
  });

  it('closes the socket with 4401 when its API key is revoked', async () => {
    const { token } = await login(t);
    const created = (await t.gql(CreateApiKeyDocument, { name: 'to revoke' }, { token })).body.data!.createApiKey;
    const c = await signedIn({ apiKey: created.secret });
    await t.gql(RevokeApiKeyDocument, { id: created.apiKey.id }, { token });
    expect(await c.closed()).toEqual({ code: 4401, reason: 'API key revoked' });
  });

  it('closes the socket with 4401 when its token expires', async () => {
    const { userId } = await login(t);
    const shortLived = await new TokenService(t.config.jwt.secret, 2).issue(userId);
    const c = await signedIn({ token: shortLived.token });
    expect(await c.closed(6000)).toEqual({ code: 4401, reason: 'Token expired' });
  });
});
