import { parseConfig } from '../../src/config';
import { login } from '../helpers/accounts';
import { gqlUpload, restUpload, wavFile } from '../helpers/audio';
import { captureLogs } from '../helpers/log-capture';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { startFakeOpenAI, TRANSCRIPTION_ERRORS, type FakeOpenAI } from '../fakes/openai';

/** A key that must never appear in a log line. */
const API_KEY = 'sk-stt-0123456789abcdefSECRET';

/** The app's log lines as objects. */
const parsed = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('speech provider failures (STT_* settings, a non-whisper model)', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  let token: string;
  const logs = captureLogs(parseConfig({ JWT_SECRET: 'x'.repeat(40) }), 'info');
  const failureLines = () => parsed(logs.lines).filter((l) => l.msg === 'speech to text failed');

  beforeAll(async () => {
    ai = await startFakeOpenAI({ apiKey: API_KEY });
    // The STT_* settings win over OPENAI_* (here pointing nowhere useful, with a wrong key).
    t = await startTestApp({
      env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: 'sk-wrong', STT_BASE_URL: ai.baseURL, STT_API_KEY: API_KEY, STT_MODEL: 'gpt-4o-mini-transcribe' },
      overrides: { logger: logs.logger },
    });
    ({ token } = await login(t));
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
  });

  it('lets a model without verbose_json detect the language: no language, no response_format, language null', async () => {
    const res = await gqlUpload(t, wavFile(0.5), { token });
    expect(res.body.data?.speechToText).toEqual({ text: '你好，世界', language: null, durationSeconds: 0.5 });
    const call = ai.transcriptions.at(-1)!;
    expect(call).toEqual({ model: 'gpt-4o-mini-transcribe', filename: 'upload.wav', contentType: expect.any(String), bytes: wavFile(0.5).length });
    expect(call.language).toBeUndefined();
    expect(call.responseFormat).toBeUndefined();
  });

  it.each([
    ['out of quota (429 insufficient_quota)', TRANSCRIPTION_ERRORS.quota, 'PROVIDER_QUOTA_EXHAUSTED'],
    ['rate limited (429 rate_limit_exceeded)', TRANSCRIPTION_ERRORS.rateLimit, 'PROVIDER_RATE_LIMITED'],
    ['broken on its side (500)', TRANSCRIPTION_ERRORS.server, 'PROVIDER_UNAVAILABLE'],
    ['refusing the request (400)', { status: 400, message: 'Invalid file format. Supported formats: flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav, webm', code: null }, 'PROVIDER_REJECTED'],
  ])('answers UPSTREAM_ERROR when the provider is %s, quoting its message', async (_label, failure, reason) => {
    ai.nextTranscriptionErrors.push(failure);
    const res = await gqlUpload(t, wavFile(0.2), { token });
    expect(res.status).toBe(502);
    expect(res.body.errors![0].message).toBe(`The speech provider answered ${failure.status}: ${failure.message}`);
    expect(res.body.errors![0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR', status: 502, details: { reason } });
    expect(ai.nextTranscriptionErrors).toEqual([]);
  });

  it('answers the same over REST', async () => {
    ai.nextTranscriptionErrors.push(TRANSCRIPTION_ERRORS.quota);
    const res = await restUpload(t, wavFile(0.2), { token, language: 'zh' });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: 502, data: null, error: { code: 502, message: `The speech provider answered 429: ${TRANSCRIPTION_ERRORS.quota.message}`, details: { reason: 'PROVIDER_QUOTA_EXHAUSTED' } } });
  });

  it('logs each failed transcription once at warn, with what an operator needs and no key, audio or text', async () => {
    const before = failureLines().length;
    ai.nextTranscriptionErrors.push({ ...TRANSCRIPTION_ERRORS.quota, requestId: 'req_quota_42' });
    const res = await gqlUpload(t, wavFile(0.3), { token, language: 'en' });
    expect(res.body.errors![0].extensions.details).toEqual({ reason: 'PROVIDER_QUOTA_EXHAUSTED' });

    // The error is answered after it was logged, so the line is already there.
    const lines = failureLines().slice(before);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'speech to text failed',
        model: 'gpt-4o-mini-transcribe',
        upstream: ai.baseURL,
        httpStatus: 429,
        providerMessage: TRANSCRIPTION_ERRORS.quota.message,
        requestId: 'req_quota_42',
        reason: 'PROVIDER_QUOTA_EXHAUSTED',
        format: 'wav',
        bytes: wavFile(0.3).length,
      }),
    ]);
    const all = logs.text();
    expect(all).not.toContain(API_KEY);
    expect(all).not.toContain('sk-wrong');
    expect(all).not.toContain('你好');
    expect(all).not.toMatch(/RIFF|WAVE/);
  });

  it('logs nothing at warn for a successful transcription', async () => {
    const before = failureLines().length;
    const res = await gqlUpload(t, wavFile(0.1), { token });
    expect(res.body.data?.speechToText.text).toBe('你好，世界');
    expect(failureLines().length).toBe(before);
    expect(logs.text()).not.toContain('你好');
  });
});
