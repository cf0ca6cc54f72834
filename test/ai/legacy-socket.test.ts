import WebSocket from 'ws';
import { TokenService } from '../../src/services/auth/token.service';
import { login, rows } from '../helpers/accounts';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';

type Frame = { type: string; data?: any; timestamp?: string };

/** A legacy-protocol client that records every frame and can wait for one. */
async function connect(t: TestApp) {
  const socket = new WebSocket(`${t.url.replace(/^http/, 'ws')}/v1/ws`);
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (raw) => {
    frames.push(JSON.parse(raw.toString()));
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const waitFor = (pred: (f: Frame) => boolean, ms = 5000) =>
    new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame in ${ms} ms; got ${JSON.stringify(frames)}`)), ms);
      const check = () => {
        const found = frames.find(pred);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        } else waiters.push(check);
      };
      check();
    });
  const send = (frame: unknown) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  return { socket, frames, closed, waitFor, send };
}

describe('legacy WebSocket /v1/ws', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  const sockets: WebSocket[] = [];
  const open = async () => {
    const c = await connect(t);
    sockets.push(c.socket);
    return c;
  };
  beforeAll(async () => {
    ai = await startFakeOpenAI({ chunkSize: 3 });
    t = await startTestApp({ env: { ...ai.env(), DEFAULT_MODEL: 'gpt-test' } });
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    await t.close();
    await ai.close();
  });

  it('authenticates with the seed auth frame, and answers ping with pong', async () => {
    const { token, userId } = await login(t);
    const c = await open();
    c.send({ type: 'ping' });
    expect((await c.waitFor((f) => f.type === 'pong')).timestamp).toMatch(/Z$/);
    c.send({ type: 'auth', token, timestamp: new Date().toISOString() });
    expect((await c.waitFor((f) => f.type === 'auth')).data).toEqual({ ok: true, userId });
  });

  it('streams a reply: increasing seq, deltas that add up to the final content, which is what was stored', async () => {
    const { token } = await login(t);
    const c = await open();
    c.send({ type: 'auth', token });
    c.send({ type: 'message', data: { content: '讲个笑话吧', role: 'user' } });
    const done = await c.waitFor((f) => f.type === 'message' && f.data.done);
    const frames = c.frames.filter((f) => f.type === 'message');
    const deltas = frames.filter((f) => !f.data.done);
    expect(deltas.map((f) => f.data.seq)).toEqual(deltas.map((_, i) => i + 1));
    expect(deltas.map((f) => f.data.delta).join('')).toBe('Echo: 讲个笑话吧');
    expect(done.data).toMatchObject({ content: 'Echo: 讲个笑话吧', status: 'COMPLETE', seq: deltas.length + 1, usage: { total_tokens: expect.any(Number) } });
    const [stored] = await rows(t, 'select content, chat_id from messages where id = ?', [done.data.messageId]);
    expect(stored).toEqual({ content: 'Echo: 讲个笑话吧', chat_id: done.data.chatId });

    c.send({ type: 'message', data: { content: 'again', chatId: done.data.chatId } });
    const second = await c.waitFor((f) => f.type === 'message' && f.data.done && f.data.messageId !== done.data.messageId);
    expect(second.data.chatId).toBe(done.data.chatId);
  });

  it.each([
    ['a message before auth', { type: 'message', data: { content: 'hi' } }],
    ['bad JSON before auth', 'not json'],
  ])('closes with 4401 after an error frame on %s', async (_label, frame) => {
    const c = await open();
    c.send(frame);
    expect((await c.waitFor((f) => f.type === 'error')).data.code).toBe('UNAUTHENTICATED');
    expect((await c.closed).code).toBe(4401);
  });

  it('refuses a bad, an expired and a revoked token with 4401', async () => {
    const { token, userId } = await login(t);
    const expired = await new TokenService(t.config.jwt.secret, 60).issue(userId, new Date(Date.now() - 3600_000));
    const revoked = await login(t);
    await t.gql('mutation { logout }', {}, { token: revoked.token });
    for (const bad of ['garbage', expired.token, revoked.token, `${token}x`]) {
      const c = await open();
      c.send({ type: 'auth', token: bad });
      expect((await c.waitFor((f) => f.type === 'error')).data.code).toBe('UNAUTHENTICATED');
      expect((await c.closed).code).toBe(4401);
    }
  });

  it('reports errors with the contract codes and stays open', async () => {
    const owner = await login(t);
    const other = await login(t);
    const chatId = (await t.gql<any>('mutation { sendMessage(input: { content: "mine" }) { sessionId } }', {}, { token: owner.token })).body.data.sendMessage.sessionId;
    const c = await open();
    c.send({ type: 'auth', token: other.token });
    await c.waitFor((f) => f.type === 'auth');
    c.send({ type: 'message', data: { content: 'intrude', chatId } });
    expect((await c.waitFor((f) => f.type === 'error')).data.code).toBe('NOT_FOUND');
    c.send({ type: 'message', data: { content: '' } });
    expect((await c.waitFor((f) => f.type === 'error' && f.data.code === 'BAD_REQUEST')).data.details).toEqual({ field: 'content', reason: 'EMPTY' });
    c.send('{not json');
    expect((await c.waitFor((f) => f.type === 'error' && f.data.details?.reason === 'MALFORMED_FRAME')).data.code).toBe('BAD_REQUEST');
    c.send({ type: 'dance' });
    expect((await c.waitFor((f) => f.type === 'error' && f.data.details?.reason === 'UNKNOWN_TYPE')).data.code).toBe('BAD_REQUEST');
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
    expect(c.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('reports a failed reply as UPSTREAM_ERROR', async () => {
    const { token } = await login(t);
    const c = await open();
    c.send({ type: 'auth', token });
    ai.nextModes.push('error500', 'error500', 'error500');
    c.send({ type: 'message', data: { content: 'fail' } });
    expect((await c.waitFor((f) => f.type === 'error')).data.code).toBe('UPSTREAM_ERROR');
    expect((await c.waitFor((f) => f.type === 'message' && f.data.done)).data.status).toBe('FAILED');
  });

  it('closes the socket with 4401 when its token is logged out', async () => {
    const { token } = await login(t);
    const c = await open();
    c.send({ type: 'auth', token });
    await c.waitFor((f) => f.type === 'auth');
    await t.gql('mutation { logout }', {}, { token });
    expect(await c.closed).toEqual({ code: 4401, reason: 'Token revoked' });
  });
});
