import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { login } from '../helpers/accounts';
import { adtsFile, gqlUpload, mp3File, restUpload, wavFile } from '../helpers/audio';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startFakeWechat } from '../fakes/wechat';

/**
 * Every fetch this process makes that is not a test calling its app: the OpenAI SDK sends
 * with the global fetch, so a call to a provider would show up here.
 */
function watchOutgoingFetches() {
  const realFetch = globalThis.fetch;
  const outgoing: string[] = [];
  const apps: string[] = [];
  const spy = jest.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!apps.some((app) => url.startsWith(app))) outgoing.push(url);
    return realFetch(input, init);
  });
  return { outgoing, apps, restore: () => spy.mockRestore() };
}

const ECHO_NOTE = '(no speech provider is configured)';

describe('speech to text without a provider, outside production: the echo transcriber', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  let token: string;
  let fetches: ReturnType<typeof watchOutgoingFetches>;
  beforeAll(async () => {
    fetches = watchOutgoingFetches();
    ai = await startFakeOpenAI();
    // OPENAI_BASE_URL without a key configures nothing (it has a default, api.openai.com):
    // had the server called out, the fake would have seen it.
    t = await startTestApp({ env: { OPENAI_BASE_URL: ai.baseURL } });
    fetches.apps.push(t.url);
    ({ token } = await login(t));
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
    fetches.restore();
  });

  it('describes a WAV, with its duration, and calls nothing', async () => {
    const res = await gqlUpload(t, wavFile(1.2), { token });
    expect(res.status).toBe(200);
    expect(res.body.data?.speechToText).toEqual({ text: `[echo transcriber] 1.2 s of wav audio ${ECHO_NOTE}`, language: null, durationSeconds: 1.2 });
  });

  it('describes raw AAC after remuxing it (duration from its frames), keeping an explicit language', async () => {
    const res = await gqlUpload(t, adtsFile(25, 16000), { token, language: 'zh-CN' });
    expect(res.body.data?.speechToText).toEqual({ text: `[echo transcriber] 1.6 s of aac audio ${ECHO_NOTE}`, language: 'zh-CN', durationSeconds: 1.6 });
  });

  it('describes an MP3 by its size over REST (its duration is not read)', async () => {
    const file = mp3File();
    const res = await restUpload(t, file, { token });
    expect(res.body).toEqual({ code: 200, message: 'success', data: { text: `[echo transcriber] mp3 audio, ${file.length} bytes ${ECHO_NOTE}`, language: null, durationSeconds: null } });
  });

  it('still checks the upload and the language', async () => {
    const empty = await gqlUpload(t, Buffer.alloc(0), { token });
    expect(empty.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'audio', reason: 'EMPTY_FILE' } });
    const lang = await gqlUpload(t, wavFile(0.1), { token, language: 'klingon!' });
    expect(lang.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'language', reason: 'INVALID_LANGUAGE' } });
  });

  it('made no call to any provider', () => {
    expect(ai.transcriptions).toEqual([]);
    expect(fetches.outgoing).toEqual([]);
  });
});

describe('speech to text without a provider in production', () => {
  let t: TestApp;
  let wechat: Awaited<ReturnType<typeof startFakeWechat>>;
  let token: string;
  let fetches: ReturnType<typeof watchOutgoingFetches>;
  const sttDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('stt-'));
  beforeAll(async () => {
    fetches = watchOutgoingFetches();
    wechat = await startFakeWechat();
    fetches.apps.push(wechat.url);
    t = await startTestApp({ env: { NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(48), ALLOW_ECHO_IN_PRODUCTION: 'true', ...wechat.env() } });
    fetches.apps.push(t.url);
    ({ token } = await login(t, wechat.code('openid-speech')));
  });
  afterAll(async () => {
    await t.close();
    await wechat.close();
    fetches.restore();
  });

  it('answers BAD_REQUEST / SERVICE_NOT_CONFIGURED over GraphQL and REST, without reading the file or calling out', async () => {
    const dirs = sttDirs();
    const gql = await gqlUpload(t, wavFile(0.5), { token });
    expect(gql.status).toBe(400);
    expect(gql.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { reason: 'SERVICE_NOT_CONFIGURED' } });
    expect(gql.body.errors![0].message).toMatch(/no speech provider/);

    const rest = await restUpload(t, adtsFile(), { token, language: 'zh' });
    expect(rest.status).toBe(400);
    expect(rest.body).toMatchObject({ code: 400, data: null, error: { code: 400, details: { reason: 'SERVICE_NOT_CONFIGURED' } } });

    expect(sttDirs()).toEqual(dirs);
    expect(fetches.outgoing).toEqual([]);
  });
});
