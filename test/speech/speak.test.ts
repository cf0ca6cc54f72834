import { login, rows } from '../helpers/accounts';
import { aiSays, saveChat, userSays } from '../helpers/chats';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { markedMp3, mp3Seconds, startFakeOpenAISpeech, type FakeOpenAISpeech } from '../fakes/openai-speech';
import { startFakeWechat } from '../fakes/wechat';
import { wavDurationSeconds } from '../../src/speech/audio-format';
import { SpeechLinks } from '../../src/speech/speech-link';

const SPEAK = `mutation Speak($messageId: ID!, $voice: String) { speakMessage(messageId: $messageId, voice: $voice) { url mimeType durationSeconds } }`;
const DELETE_CHATS = `mutation Delete($ids: [ID!]!) { deleteChats(ids: $ids) }`;

interface Speech {
  url: string;
  mimeType: string;
  durationSeconds: number | null;
}

/** GET of a path on the app, the body as bytes. */
async function getAudio(t: TestApp, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

const speak = (t: TestApp, token: string | undefined, messageId: string, voice?: string) => t.gql<{ speakMessage: Speech }>(SPEAK, { messageId, voice }, { token });

/** A saved chat with one user message and one assistant reply; the reply's id. */
async function savedReply(t: TestApp, token: string, reply: string): Promise<{ chatId: string; replyId: string; userMessageId: string }> {
  const chat = await saveChat(t, token, { title: 'read aloud', messages: [userSays('讲个故事'), aiSays(reply)] });
  return { chatId: chat.id, userMessageId: chat.messages[0].id, replyId: chat.messages[1].id };
}

const clipCount = async (t: TestApp, messageIds: string[]) =>
  Number((await rows(t, `select count(*) as n from speech_clips where message_id in (${messageIds.map(() => '?').join(', ')})`, messageIds))[0].n);

describe('speakMessage with a text-to-speech provider', () => {
  let tts: FakeOpenAISpeech;
  let t: TestApp;
  let token: string;
  let userId: string;
  let other: string;
  const REPLY = 'Once upon a time there was a small server. It read replies aloud!';
  beforeAll(async () => {
    tts = await startFakeOpenAISpeech();
    t = await startTestApp({ env: tts.env() });
    ({ token, userId } = await login(t));
    ({ token: other } = await login(t));
  });
  afterAll(async () => {
    await t.close();
    await tts.close();
  });

  it('reads a stored reply aloud: the provider gets model, voice and text; the signed url plays it without any header', async () => {
    const { replyId } = await savedReply(t, token, REPLY);
    const before = tts.calls.length;
    const res = await speak(t, token, replyId);
    expect(res.body.errors).toBeUndefined();
    const speech = res.body.data!.speakMessage;
    expect(speech).toEqual({ url: expect.stringMatching(new RegExp(`^/v1/messages/${replyId}/speech\\?voice=alloy&token=[^&]+$`)), mimeType: 'audio/mpeg', durationSeconds: mp3Seconds(3) });
    expect(tts.calls.length).toBe(before + 1);
    const call = tts.calls.at(-1)!;
    expect(call).toMatchObject({ model: 'tts-1', voice: 'alloy', input: REPLY, responseFormat: 'mp3' });
    expect(call.headers.authorization).toBe(`Bearer ${tts.apiKey}`);

    const audio = await getAudio(t, speech.url);
    expect(audio.status).toBe(200);
    expect(audio.headers.get('content-type')).toBe('audio/mpeg');
    expect(audio.headers.get('accept-ranges')).toBe('bytes');
    expect(audio.headers.get('content-length')).toBe(String(call.audio!.length));
    expect(audio.bytes.equals(call.audio!)).toBe(true);
  });

  it('answers a second request for the same message and voice from the stored clip (no provider call, GraphQL or REST); another voice is a new call', async () => {
    const { replyId } = await savedReply(t, token, REPLY);
    const first = (await speak(t, token, replyId)).body.data!.speakMessage;
    const calls = tts.calls.length;
    const again = (await speak(t, token, replyId)).body.data!.speakMessage;
    expect(again).toMatchObject({ mimeType: 'audio/mpeg', durationSeconds: first.durationSeconds });
    const rest = await t.rest<Speech>('POST', '/v1/ai/text-to-speech', { token, body: { messageId: replyId } });
    expect(rest.status).toBe(200);
    expect(rest.body).toEqual({ code: 200, message: 'success', data: { url: expect.stringContaining(`/v1/messages/${replyId}/speech?voice=alloy&token=`), mimeType: 'audio/mpeg', durationSeconds: mp3Seconds(3) } });
    const played = await getAudio(t, rest.body.data.url);
    expect(played.status).toBe(200);
    expect(tts.calls.length).toBe(calls);
    expect(await clipCount(t, [replyId])).toBe(1);

    const nova = (await speak(t, token, replyId, 'nova')).body.data!.speakMessage;
    expect(tts.calls.length).toBe(calls + 1);
    expect(tts.calls.at(-1)).toMatchObject({ voice: 'nova', input: REPLY });
    expect(nova.url).toContain('?voice=nova&token=');
    expect((await getAudio(t, nova.url)).bytes.equals(tts.calls.at(-1)!.audio!)).toBe(true);
    expect(await clipCount(t, [replyId])).toBe(2);
  });

  it('serves byte ranges (206 with content-range), 416 past the end, and the whole file without a Range', async () => {
    const { replyId } = await savedReply(t, token, REPLY);
    const { url } = (await speak(t, token, replyId)).body.data!.speakMessage;
    const whole = tts.calls.at(-1)!.audio!;
    const size = whole.length;
    const cases: Array<[string, number, number]> = [
      ['bytes=0-9', 0, 9],
      ['bytes=100-', 100, size - 1],
      ['bytes=-50', size - 50, size - 1],
      [`bytes=20-${size + 1000}`, 20, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const part = await getAudio(t, url, { range });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size}`);
      expect(part.headers.get('accept-ranges')).toBe('bytes');
      expect(part.headers.get('content-type')).toBe('audio/mpeg');
      expect(part.headers.get('content-length')).toBe(String(end - start + 1));
      expect(part.bytes.equals(whole.subarray(start, end + 1))).toBe(true);
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 5}-${size + 10}`, 'bytes=-0']) {
      const refused = await getAudio(t, url, { range });
      expect(refused.status).toBe(416);
      expect(refused.headers.get('content-range')).toBe(`bytes */${size}`);
    }
    const full = await getAudio(t, url);
    expect(full.status).toBe(200);
    expect(full.headers.get('content-range')).toBeNull();
    expect(full.bytes.equals(whole)).toBe(true);
  });

  it('refuses an altered, expired or misapplied link (401 envelope); a credential header works without one', async () => {
    const { replyId } = await savedReply(t, token, REPLY);
    const { replyId: otherReply } = await savedReply(t, token, 'Another reply.');
    const { url } = (await speak(t, token, replyId)).body.data!.speakMessage;
    const calls = tts.calls.length;
    const tokenOf = (u: string) => new URL(u, 'http://x').searchParams.get('token')!;
    const altered = url.replace(/token=([^&]+)$/, (_m, tk: string) => `token=${encodeURIComponent(decodeURIComponent(tk).slice(0, -2) + (decodeURIComponent(tk).endsWith('AA') ? 'BB' : 'AA'))}`);
    const expired = new SpeechLinks(t.config.jwt.secret, 3600).url(replyId, 'alloy', userId, Date.now() - 2 * 3600_000);
    const forged = new SpeechLinks('some-other-secret-of-at-least-32-characters', 3600).url(replyId, 'alloy', userId);
    const bad = [
      altered,
      expired,
      forged,
      `/v1/messages/${otherReply}/speech?voice=alloy&token=${encodeURIComponent(tokenOf(url))}`,
      `/v1/messages/${replyId}/speech?voice=nova&token=${encodeURIComponent(tokenOf(url))}`,
      `/v1/messages/${replyId}/speech?voice=alloy&token=garbage`,
    ];
    for (const path of bad) {
      const res = await getAudio(t, path);
      expect(res.status).toBe(401);
      const body = JSON.parse(res.bytes.toString('utf8')) as { code: number; data: unknown; error: { code: number; message: string } };
      expect(body).toMatchObject({ code: 401, data: null, error: { code: 401 } });
    }
    expect(JSON.parse((await getAudio(t, expired)).bytes.toString('utf8')).error.message).toMatch(/expired/);

    const byHeader = await getAudio(t, `/v1/messages/${replyId}/speech`, { authorization: `Bearer ${token}` });
    expect(byHeader.status).toBe(200);
    expect(byHeader.headers.get('content-type')).toBe('audio/mpeg');
    const noCredential = await getAudio(t, `/v1/messages/${replyId}/speech`);
    expect(noCredential.status).toBe(401);
    expect(JSON.parse(noCredential.bytes.toString('utf8'))).toMatchObject({ code: 401, error: { code: 401 } });
    expect(tts.calls.length).toBe(calls);
  });

  it('reads a long Chinese reply in parts under 4096 characters, cut at sentence ends, and joins the MP3s in order', async () => {
    const sentences = Array.from({ length: 600 }, (_, i) => `第${i + 1}句：今天天气很好，我们一起去公园散步吧！`);
    const long = sentences.join('');
    expect(long.length).toBeGreaterThan(3 * 4096);
    const { replyId } = await savedReply(t, token, long);
    const before = tts.calls.length;
    const res = await speak(t, token, replyId);
    expect(res.body.errors).toBeUndefined();
    const calls = tts.calls.slice(before);
    // Whole sentences packed up to the limit: the number of parts that makes.
    let expectedParts = 1;
    let size = 0;
    for (const s of sentences) {
      if (size + s.length > 4096) [expectedParts, size] = [expectedParts + 1, 0];
      size += s.length;
    }
    expect(expectedParts).toBeGreaterThanOrEqual(4);
    expect(calls.length).toBe(expectedParts);
    // Parts may be sent a few at a time; their place in the text gives their order.
    const ordered = [...calls].sort((a, b) => long.indexOf(a.input!) - long.indexOf(b.input!));
    for (const call of ordered) {
      expect(call.input!.length).toBeLessThanOrEqual(4096);
      expect(call.input!.endsWith('！')).toBe(true);
      expect(call.voice).toBe('alloy');
    }
    expect(ordered.map((c) => c.input).join('')).toBe(long);
    // Only the first part keeps its ID3 tag: the others' frames follow on directly.
    const joined = Buffer.concat(ordered.map((c, i) => (i === 0 ? c.audio! : c.audio!.subarray(10))));
    expect(res.body.data!.speakMessage.durationSeconds).toBe(mp3Seconds(3 * calls.length));
    const audio = await getAudio(t, res.body.data!.speakMessage.url);
    expect(audio.status).toBe(200);
    expect(audio.bytes.equals(joined)).toBe(true);
  });

  it("answers NOT_FOUND for someone else's message (GraphQL, both REST routes) and UNAUTHENTICATED without a credential, calling nothing", async () => {
    const { replyId } = await savedReply(t, token, REPLY);
    const { url } = (await speak(t, token, replyId)).body.data!.speakMessage;
    const calls = tts.calls.length;
    const gql = await speak(t, other, replyId);
    expect(gql.body.errors![0].extensions).toMatchObject({ code: 'NOT_FOUND' });
    const rest = await t.rest('POST', '/v1/ai/text-to-speech', { token: other, body: { messageId: replyId } });
    expect(rest.status).toBe(404);
    expect(rest.body).toMatchObject({ code: 404, data: null, error: { code: 404 } });
    const get = await getAudio(t, `/v1/messages/${replyId}/speech`, { authorization: `Bearer ${other}` });
    expect(get.status).toBe(404);
    const unknown = await speak(t, token, '0'.repeat(26));
    expect(unknown.body.errors![0].extensions.code).toBe('NOT_FOUND');

    const anonymous = await speak(t, undefined, replyId);
    expect(anonymous.body.errors![0].extensions.code).toBe('UNAUTHENTICATED');
    const anonymousRest = await t.rest('POST', '/v1/ai/text-to-speech', { body: { messageId: replyId } });
    expect(anonymousRest.status).toBe(401);
    expect(anonymousRest.body).toMatchObject({ code: 401, error: { code: 401 } });
    // The signed link still plays for its holder.
    expect((await getAudio(t, url)).status).toBe(200);
    expect(tts.calls.length).toBe(calls);
  });

  it('refuses a malformed id or voice, a reply still being written and an empty message with BAD_REQUEST, calling nothing', async () => {
    const { replyId, chatId } = await savedReply(t, token, REPLY);
    const calls = tts.calls.length;
    const badId = await speak(t, token, 'not-an-id');
    expect(badId.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'messageId', reason: 'INVALID' } });
    for (const voice of ['a b', 'x'.repeat(33), '../etc', 'nova&token=x', '声音']) {
      const res = await speak(t, token, replyId, voice);
      expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'voice', reason: 'INVALID' } });
    }
    const restBadVoice = await t.rest('POST', '/v1/ai/text-to-speech', { token, body: { messageId: replyId, voice: 'a b' } });
    expect(restBadVoice.status).toBe(400);
    expect(restBadVoice.body.error?.details).toMatchObject({ field: 'voice', reason: 'INVALID' });
    const restMissing = await t.rest('POST', '/v1/ai/text-to-speech', { token, body: {} });
    expect(restMissing.status).toBe(400);
    const getBadVoice = await getAudio(t, `/v1/messages/${replyId}/speech?voice=${encodeURIComponent('a b')}`, { authorization: `Bearer ${token}` });
    expect(getBadVoice.status).toBe(400);

    await rows(t, "update messages set status = 'STREAMING' where id = ?", [replyId]);
    const streaming = await speak(t, token, replyId);
    expect(streaming.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'MESSAGE_NOT_FINISHED' } });
    await rows(t, "update messages set status = 'COMPLETE', content = '  ' where id = ?", [replyId]);
    const empty = await speak(t, token, replyId);
    expect(empty.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'EMPTY' } });
    expect(tts.calls.length).toBe(calls);
    expect(await clipCount(t, [replyId])).toBe(0);
    expect(chatId).toBeTruthy();
  });

  it('maps provider failures to UPSTREAM_ERROR with a PROVIDER_* reason and stores nothing', async () => {
    const { replyId } = await savedReply(t, token, REPLY);
    tts.nextErrors.push({ status: 429, message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota' });
    const quota = await speak(t, token, replyId);
    expect(quota.body.errors![0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR', details: { reason: 'PROVIDER_QUOTA_EXHAUSTED' } });
    expect(quota.body.errors![0].message).toMatch(/^The speech provider answered 429/);
    tts.nextErrors.push({ status: 500, message: 'The server had an error', type: 'server_error' });
    const down = await t.rest('POST', '/v1/ai/text-to-speech', { token, body: { messageId: replyId } });
    expect(down.status).toBe(502);
    expect(down.body.error?.details).toMatchObject({ reason: 'PROVIDER_UNAVAILABLE' });
    expect(await clipCount(t, [replyId])).toBe(0);
    const ok = await speak(t, token, replyId);
    expect(ok.body.data!.speakMessage.mimeType).toBe('audio/mpeg');
    expect(await clipCount(t, [replyId])).toBe(1);
  });

  it("deletes a message's clips with its chat, and with messages a saveChat replaces", async () => {
    const a = await savedReply(t, token, REPLY);
    const b = await savedReply(t, token, 'Second chat reply.');
    await speak(t, token, a.replyId);
    await speak(t, token, a.replyId, 'nova');
    await speak(t, token, a.userMessageId);
    await speak(t, token, b.replyId);
    expect(await clipCount(t, [a.replyId, a.userMessageId])).toBe(3);
    expect(await clipCount(t, [b.replyId])).toBe(1);

    const del = await t.gql<{ deleteChats: number }>(DELETE_CHATS, { ids: [a.chatId] }, { token });
    expect(del.body.data?.deleteChats).toBe(1);
    expect(await clipCount(t, [a.replyId, a.userMessageId])).toBe(0);
    expect(await clipCount(t, [b.replyId])).toBe(1);

    await saveChat(t, token, { id: b.chatId, messages: [userSays('换一个')] });
    expect(await clipCount(t, [b.replyId])).toBe(0);
  });
});

describe('speakMessage and the AI rate limit', () => {
  let tts: FakeOpenAISpeech;
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    tts = await startFakeOpenAISpeech();
    t = await startTestApp({ env: { ...tts.env(), AI_RATE_LIMIT_PER_MINUTE: '2' } });
    ({ token } = await login(t));
  });
  afterAll(async () => {
    await t.close();
    await tts.close();
  });

  it('counts only the requests that call the provider', async () => {
    const first = await savedReply(t, token, 'One.');
    const second = await savedReply(t, token, 'Two.');
    const third = await savedReply(t, token, 'Three.');
    expect((await speak(t, token, first.replyId)).body.errors).toBeUndefined();
    for (let i = 0; i < 3; i++) expect((await speak(t, token, first.replyId)).body.errors).toBeUndefined();
    expect((await speak(t, token, second.replyId)).body.errors).toBeUndefined();
    const limited = await speak(t, token, third.replyId);
    expect(limited.body.errors![0].extensions.code).toBe('RATE_LIMITED');
    expect(tts.calls.length).toBe(2);
  });
});

describe('speakMessage without a provider, outside production: the placeholder tone', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    ({ token } = await login(t));
  });
  afterAll(() => t.close());

  it('answers a labelled WAV placeholder, its length proportional to the text, playable by its url', async () => {
    const text = '这是一个占位的朗读。'.repeat(2);
    const { replyId } = await savedReply(t, token, text);
    const res = await speak(t, token, replyId);
    expect(res.body.errors).toBeUndefined();
    const speech = res.body.data!.speakMessage;
    expect(speech).toEqual({ url: expect.stringContaining(`/v1/messages/${replyId}/speech?voice=alloy&token=`), mimeType: 'audio/wav', durationSeconds: 4 });
    const audio = await getAudio(t, speech.url);
    expect(audio.status).toBe(200);
    expect(audio.headers.get('content-type')).toBe('audio/wav');
    expect(audio.bytes.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(wavDurationSeconds(audio.bytes.subarray(0, 64))).toBe(4);
    // Not stored: a provider configured later reads the message for real.
    expect(await clipCount(t, [replyId])).toBe(0);
    const long = await savedReply(t, token, '长'.repeat(5000));
    expect((await speak(t, token, long.replyId)).body.data!.speakMessage.durationSeconds).toBe(30);
  });
});

describe('speakMessage without a provider in production', () => {
  let t: TestApp;
  let wechat: Awaited<ReturnType<typeof startFakeWechat>>;
  let token: string;
  beforeAll(async () => {
    wechat = await startFakeWechat();
    t = await startTestApp({ env: { NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(48), ALLOW_ECHO_IN_PRODUCTION: 'true', MODERATION_WECHAT: 'off', ...wechat.env() } });
    ({ token } = await login(t, wechat.code('openid-speak')));
  });
  afterAll(async () => {
    await t.close();
    await wechat.close();
  });

  it('answers BAD_REQUEST / SERVICE_NOT_CONFIGURED over GraphQL and REST', async () => {
    const { replyId } = await savedReply(t, token, 'A reply to read.');
    const gql = await speak(t, token, replyId);
    expect(gql.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'SERVICE_NOT_CONFIGURED' } });
    const rest = await t.rest('POST', '/v1/ai/text-to-speech', { token, body: { messageId: replyId } });
    expect(rest.status).toBe(400);
    expect(rest.body).toMatchObject({ code: 400, data: null, error: { details: { reason: 'SERVICE_NOT_CONFIGURED' } } });
    const get = await getAudio(t, `/v1/messages/${replyId}/speech`, { authorization: `Bearer ${token}` });
    expect(get.status).toBe(400);
  });
});

// Keeps the fake's MP3 honest: what the duration assertions above rely on.
it('the fake answers valid MP3 frames', () => {
  expect(markedMp3(1).subarray(10, 13)).toEqual(Buffer.from([0xff, 0xfb, 0x90]));
});
