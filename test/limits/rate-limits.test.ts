import { print } from 'graphql';
import { LoginDocument, MeDocument, ModelsDocument, SendMessageDocument } from '../generated/graphql';
import { login, rows } from '../helpers/accounts';
import { dataOf, SEND, startAppWithFakeAi, useAppWithFakeAi } from '../helpers/replies';
import { gqlUpload, restUpload, wavFile } from '../helpers/audio';
import { connectLegacy } from '../helpers/legacy-ws';
import { openGraphqlWs } from '../helpers/raw-ws';
import { startTestApp, testRedisEnv, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';

const ME = print(MeDocument);

/** A new user on a legacy socket that has authenticated. */
async function legacyUser(t: TestApp) {
  const user = await login(t);
  const c = await connectLegacy(t.url);
  c.send({ type: 'auth', token: user.token });
  await c.waitFor((f) => f.type === 'auth');
  return { user, c };
}

const expectRateLimited = (ext: Record<string, unknown> | undefined) => {
  expect(ext).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
  expect(ext!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  expect(ext!.retryAfterSeconds).toBeLessThanOrEqual(60);
};

describe('rate limits', () => {
  describe('per user (per address when anonymous), on every transport', () => {
    // A fresh app per test: logins count against 127.0.0.1, and each test starts from zero.
    let t: TestApp;
    beforeEach(async () => {
      t = await startTestApp({ env: { RATE_LIMIT_PER_MINUTE: '4', MAX_CONCURRENT_STREAMS: '100' } });
    });
    afterEach(() => t.close());

    it('refuses the request after the limit over HTTP with 429, Retry-After and retryAfterSeconds; other users are unaffected', async () => {
      const a = await login(t); // one anonymous request from 127.0.0.1
      const b = await login(t); // two
      for (let i = 0; i < 4; i++) expect((await t.gql(MeDocument, {}, a)).status).toBe(200);
      const refused = await t.gql(MeDocument, {}, a);
      expect(refused.status).toBe(429);
      expect(refused.body.data ?? null).toBeNull();
      expectRateLimited(refused.body.errors![0].extensions);
      expect(Number(refused.headers.get('retry-after'))).toBe(refused.body.errors![0].extensions.retryAfterSeconds);

      const rest = await t.rest('GET', '/v1/user/info', a);
      expect(rest.status).toBe(429);
      expect(rest.body).toMatchObject({ code: 429, data: null, error: { code: 429 } });
      expect(Number(rest.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

      // b has used none of its own requests.
      expect(dataOf(await t.gql(MeDocument, {}, b)).me.id).toBe(b.userId);
    });

    it('counts anonymous requests per address', async () => {
      const local = await startTestApp({ env: { RATE_LIMIT_PER_MINUTE: '2' } });
      try {
        expect((await local.gql(ModelsDocument)).status).toBe(200);
        expect((await local.gql(ModelsDocument)).status).toBe(200);
        const refused = await local.gql(ModelsDocument);
        expect(refused.status).toBe(429);
        expectRateLimited(refused.body.errors![0].extensions);
        // Health checks are not requests to the API.
        expect((await fetch(`${local.url}/healthz`)).status).toBe(200);
      } finally {
        await local.close();
      }
    });

    it('counts graphql-ws operations and fails the one over the limit with RATE_LIMITED', async () => {
      const user = await login(t);
      const ws = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${user.token}` });
      expect(ws.acked).toBe(true);
      for (let i = 1; i <= 5; i++) ws.socket.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: ME } }));
      await waitFor(() => ws.messages.filter((m) => m.type === 'complete' || m.type === 'error').length >= 5, 5000, 'an end to all five operations');
      const errors = ws.messages.filter((m) => m.type === 'error');
      const nexts = ws.messages.filter((m) => m.type === 'next');
      expect(nexts).toHaveLength(4);
      expect(errors).toHaveLength(1);
      expectRateLimited((errors[0].payload as Array<{ extensions: Record<string, unknown> }>)[0].extensions);
      ws.socket.close();
    });

    it('counts legacy socket frames and answers the one over the limit with an error frame', async () => {
      const { user, c } = await legacyUser(t);
      // The auth frame counted against the address (no user yet); the messages count for the user.
      for (let i = 0; i < 5; i++) c.send({ type: 'message', data: { content: 'hi', clientMessageId: `m${i}` } });
      const refused = await c.waitFor((f) => f.type === 'error' && f.data.code === 'RATE_LIMITED');
      expect(refused.data.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refused.data).toMatchObject({ clientMessageId: 'm4', message: 'Too many requests' });
      // Frames are handled in order, so m0-m3 are stored by now and the refused one never is.
      const stored = await rows(t, 'select count(*) as n from messages where user_id = ?', [user.userId]);
      expect(Number(stored[0].n)).toBe(8);
      c.socket.close();
    });
  });

  describe('AI calls', () => {
    const fx = useAppWithFakeAi({}, { AI_RATE_LIMIT_PER_MINUTE: '3', MAX_CONCURRENT_STREAMS: '100' });

    it('limits sendMessage and speechToText together; a retry with the same clientMessageId is free; a refused call changes nothing', async () => {
      const { t, ai } = fx;
      const user = await login(t);
      const first = dataOf(await t.gql(SendMessageDocument, { input: { content: 'one', clientMessageId: 'k1' } }, user)).sendMessage;
      expect(first.reply.status).toBe('COMPLETE');
      expect(dataOf(await t.gql(SendMessageDocument, { input: { content: 'two' } }, user)).sendMessage.reply.status).toBe('COMPLETE');
      expect((await gqlUpload(t, wavFile(0.1), { token: user.token })).body.data?.speechToText.text).toEqual(expect.any(String));
      const callsBefore = ai.calls.length;
      const transcriptionsBefore = ai.transcriptions.length;

      const refused = await t.gql(SendMessageDocument, { input: { content: 'three' } }, user);
      expectRateLimited(refused.body.errors![0].extensions);
      const upload = await restUpload(t, wavFile(0.1), { token: user.token });
      expect(upload.status).toBe(429);
      expect(upload.body.error.code).toBe(429);
      expect(ai.calls.length).toBe(callsBefore);
      expect(ai.transcriptions.length).toBe(transcriptionsBefore);
      const stored = await rows(t, 'select count(*) as n from messages where user_id = ?', [user.userId]);
      expect(Number(stored[0].n)).toBe(4);

      const retried = dataOf(await t.gql(SendMessageDocument, { input: { content: 'one', clientMessageId: 'k1' } }, user)).sendMessage;
      expect(retried.messageId).toBe(first.messageId);

      // Another user has their own AI allowance.
      const other = await login(t);
      expect(dataOf(await t.gql(SendMessageDocument, { input: { content: 'hi' } }, other)).sendMessage.reply.status).toBe('COMPLETE');
    });

    it('refuses a message over the limit on the legacy socket with an error frame', async () => {
      const { t } = fx;
      const { c } = await legacyUser(t);
      for (let i = 0; i < 4; i++) c.send({ type: 'message', data: { content: `m${i}`, clientMessageId: `legacy-${i}` } });
      const refused = await c.waitFor((f) => f.type === 'error' && f.data.code === 'RATE_LIMITED');
      expect(refused.data).toMatchObject({ clientMessageId: 'legacy-3', message: 'Too many AI requests' });
      expect(refused.data.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      c.socket.close();
    });

    it('refuses a streamed send over the limit on graphql-ws as the operation error', async () => {
      const { t } = fx;
      const user = await login(t);
      for (let i = 0; i < 3; i++) expect(dataOf(await t.gql(SendMessageDocument, { input: { content: `m${i}` } }, user)).sendMessage.reply.status).toBe('COMPLETE');
      const ws = await openGraphqlWs(t.wsUrl, { authorization: `Bearer ${user.token}` });
      ws.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SEND, variables: { input: { content: 'over', stream: true } } } }));
      const answer = (await waitFor(() => ws.messages.find((m) => m.id === '1'), 5000, 'the answer to the send')) as { type: string; payload: { errors: Array<{ extensions: Record<string, unknown> }> } };
      expect(answer.type).toBe('next');
      expectRateLimited(answer.payload.errors[0].extensions);
      ws.socket.close();
    });
  });

  describe('concurrent streaming replies', () => {
    it('lets exactly MAX_CONCURRENT_STREAMS of many simultaneous sends start, and frees the slots when they finish', async () => {
      const { t, ai, close } = await startAppWithFakeAi({ chunkSize: 2 }, { MAX_CONCURRENT_STREAMS: '2' });
      try {
        const user = await login(t);
        ai.delayMs = 30;
        const sends = await Promise.all(Array.from({ length: 6 }, (_, i) => t.gql(SendMessageDocument, { input: { content: `hello ${i}`, stream: true } }, user)));
        const started = sends.filter((r) => r.body.data?.sendMessage);
        const refused = sends.filter((r) => r.body.errors?.[0].extensions.code === 'RATE_LIMITED');
        expect(started).toHaveLength(2);
        expect(refused).toHaveLength(4);
        // Refused sends stored nothing: two exchanges of two messages.
        expect(Number((await rows(t, 'select count(*) as n from messages where user_id = ?', [user.userId]))[0].n)).toBe(4);
        ai.delayMs = 0;
        for (const r of started) await t.app.deps.replies.done(dataOf(r).sendMessage.messageId);
        const after = dataOf(await t.gql(SendMessageDocument, { input: { content: 'again', stream: true } }, user)).sendMessage;
        expect(after.reply.status).toBe('STREAMING');
      } finally {
        await close();
      }
    });
  });

  describe('login attempts per address, and TRUST_PROXY', () => {
    const attempt = (t: TestApp, forwardedFor?: string) =>
      t.gql(LoginDocument, { input: { code: `c-${Math.random()}` } }, forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : undefined);

    it('without TRUST_PROXY, X-Forwarded-For is ignored: every attempt counts against the connecting address', async () => {
      const t = await startTestApp({ env: { LOGIN_RATE_LIMIT_PER_MINUTE: '2' } });
      try {
        expect((await attempt(t, '1.1.1.1')).status).toBe(200);
        expect((await attempt(t, '2.2.2.2')).status).toBe(200);
        const refused = await attempt(t, '3.3.3.3');
        expect(refused.status).toBe(429);
        expectRateLimited(refused.body.errors![0].extensions);
        expect(refused.body.errors![0].message).toMatch(/login/i);
        const users = await rows(t, 'select count(*) as n from users');
        expect(Number(users[0].n)).toBe(2);
        // The refused login is not a general-limit problem: other operations still work.
        expect((await t.gql(ModelsDocument)).status).toBe(200);
        // REST logins share the count.
        const rest = await t.rest('POST', '/v1/auth/wechat-login', { body: { code: 'rest-code' } });
        expect(rest.status).toBe(429);
        expect(Number(rest.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      } finally {
        await t.close();
      }
    });

    it('with TRUST_PROXY=true, the client address comes from the proxy hop, so one client cannot pick its own', async () => {
      const t = await startTestApp({ env: { LOGIN_RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: 'true' } });
      try {
        expect((await attempt(t, '1.1.1.1')).status).toBe(200);
        expect((await attempt(t, '1.1.1.1')).status).toBe(200);
        expect((await attempt(t, '1.1.1.1')).status).toBe(429);
        expect((await attempt(t, '2.2.2.2')).status).toBe(200);
        // A spoofed first entry does not help: the proxy appended the real address last.
        expect((await attempt(t, '9.9.9.9, 1.1.1.1')).status).toBe(429);
      } finally {
        await t.close();
      }
    });
  });

  const onRedis = process.env.TEST_REDIS_URL ? describe : describe.skip;
  onRedis('shared through Redis', () => {
    it('counts requests across two instances', async () => {
      const shared = testRedisEnv();
      const a = await startTestApp({ env: { ...shared, LOGIN_RATE_LIMIT_PER_MINUTE: '3' } });
      const b = await startTestApp({ env: { ...shared, LOGIN_RATE_LIMIT_PER_MINUTE: '3' } });
      try {
        expect((await a.gql(LoginDocument, { input: { code: 'x1' } })).status).toBe(200);
        expect((await b.gql(LoginDocument, { input: { code: 'x2' } })).status).toBe(200);
        expect((await a.gql(LoginDocument, { input: { code: 'x3' } })).status).toBe(200);
        const refused = await b.gql(LoginDocument, { input: { code: 'x4' } });
        expect(refused.status).toBe(429);
        expectRateLimited(refused.body.errors![0].extensions);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
