import { type IncomingMessage, request as httpRequest } from 'node:http';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { login } from '../helpers/accounts';
import { detectAudioFormat } from '../../src/speech/audio-format';
import { processTempDir } from '../../src/speech/speech.service';
import { adtsFile, gqlUpload, id3Tag, m4aFile, mp3File, pngFile, readMp4, restUpload, SILENT_AAC_FRAME, SPEECH_TO_TEXT as MUTATION, wavFile } from '../helpers/audio';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';

// A temporary directory of this file's own (os.tmpdir() reads TMPDIR on every call), so the
// uploads of tests running in parallel are not counted as this one's leftovers.
process.env.TMPDIR = mkdtempSync(join(tmpdir(), 'speech-test-'));

/** Temporary files this feature may leave: fs-capacitor buffers, and anything in the server's own folder. */
const leftovers = () => [...readdirSync(tmpdir()).filter((f) => f.startsWith('capacitor-')), ...readdirSync(processTempDir(), { recursive: true, encoding: 'utf8' })].sort();

describe('speech to text', () => {
  let ai: FakeOpenAI;
  let t: TestApp;
  let token: string;
  let before: string[];
  beforeAll(async () => {
    ai = await startFakeOpenAI();
    t = await startTestApp({ env: { ...ai.env(), MAX_UPLOAD_MB: '1' } });
    ({ token } = await login(t));
    before = leftovers();
  });
  afterAll(async () => {
    await t.close();
    await ai.close();
  });

  it('transcribes a WAV over GraphQL multipart, with the duration from its header and the language the provider detected', async () => {
    const file = wavFile(1.5);
    const res = await gqlUpload(t, file, { token, name: 'whatever.txt', type: 'text/plain' });
    expect(res.status).toBe(200);
    // No language: the provider detects it; whisper's verbose_json names it ("chinese").
    expect(res.body.data?.speechToText).toEqual({ text: '你好，世界', language: 'zh', durationSeconds: 1.5 });
    const call = ai.transcriptions.at(-1)!;
    expect(call).toEqual({ model: 'whisper-1', filename: 'upload.wav', contentType: expect.any(String), bytes: file.length, responseFormat: 'verbose_json' });
    expect(call.language).toBeUndefined();
    expect(ai.transcribedFiles.at(-1)).toEqual(file);
  });

  it('treats language "auto" (and an empty one over REST) as no language', async () => {
    ai.transcriptLanguage = 'English';
    try {
      const res = await gqlUpload(t, mp3File(), { token, language: 'auto' });
      expect(res.body.data?.speechToText).toEqual({ text: '你好，世界', language: 'en', durationSeconds: null });
      expect(ai.transcriptions.at(-1)).toMatchObject({ language: undefined, responseFormat: 'verbose_json', filename: 'upload.mp3' });
      const form = new FormData();
      form.append('language', '');
      form.append('audio', new Blob([new Uint8Array(wavFile(0.5))]), 'a.wav');
      const rest = await fetch(`${t.url}/v1/ai/speech-to-text`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
      expect(await rest.json()).toEqual({ code: 200, message: 'success', data: { text: '你好，世界', language: 'en', durationSeconds: 0.5 } });
      expect(ai.transcriptions.at(-1)!.language).toBeUndefined();
    } finally {
      ai.transcriptLanguage = 'chinese';
    }
  });

  it.each([
    ['mp3', mp3File(), 'upload.mp3'],
    ['m4a', m4aFile(), 'upload.m4a'],
  ])('transcribes %s, named by its bytes, passing an explicit language on', async (_fmt, file, sent) => {
    const res = await gqlUpload(t, file, { token, name: 'recording.silk', language: 'en' });
    expect(res.body.data?.speechToText).toEqual({ text: '你好，世界', language: 'en', durationSeconds: null });
    expect(ai.transcriptions.at(-1)).toEqual({ model: 'whisper-1', language: 'en', filename: sent, contentType: expect.any(String), bytes: file.length });
    expect(ai.transcriptions.at(-1)!.responseFormat).toBeUndefined();
  });

  it('sends the primary code of a regional language and answers with the code asked for', async () => {
    const res = await gqlUpload(t, wavFile(0.25), { token, language: 'en-US' });
    expect(res.body.data?.speechToText).toEqual({ text: '你好，世界', language: 'en-US', durationSeconds: 0.25 });
    expect(ai.transcriptions.at(-1)).toMatchObject({ language: 'en', filename: 'upload.wav' });
  });

  it('remuxes raw ADTS AAC (the WeChat recorder format) into an m4a the provider accepts', async () => {
    const frames = 25; // 1.6 s at 16 kHz
    const file = adtsFile(frames, 16000, 1);
    const res = await gqlUpload(t, file, { token, name: 'wx-record.aac', type: 'audio/aac' });
    expect(res.status).toBe(200);
    expect(res.body.data?.speechToText).toEqual({ text: '你好，世界', language: 'zh', durationSeconds: 1.6 });
    expect(ai.transcriptions.at(-1)).toMatchObject({ model: 'whisper-1', filename: 'upload.m4a', responseFormat: 'verbose_json' });
    const sent = ai.transcribedFiles.at(-1)!;
    expect(ai.transcriptions.at(-1)!.bytes).toBe(sent.length);
    // What arrived is a real MP4 audio file holding the same AAC frames, without their ADTS headers.
    expect(detectAudioFormat(sent)).toBe('m4a');
    const mp4 = readMp4(sent);
    expect(mp4).toMatchObject({
      handler: 'soun',
      codec: 'mp4a',
      channels: 1,
      sampleRate: 16000,
      durationSeconds: 1.6,
      esdsTags: [3, 4, 5],
      objectTypeIndication: 0x40,
      sampleCount: frames,
    });
    expect(mp4.boxes).toEqual(expect.arrayContaining(['ftyp', 'moov', 'mdat']));
    expect(mp4.boxes[0]).toBe('ftyp');
    // AudioSpecificConfig: AAC LC (2), 16 kHz (index 8), mono: 00010 1000 0001 000.
    expect(mp4.audioSpecificConfig).toEqual(Buffer.from([0x14, 0x08]));
    expect(mp4.sampleSizes).toEqual(Array(frames).fill(SILENT_AAC_FRAME[1].length));
    expect(mp4.samples).toEqual(Array(frames).fill(SILENT_AAC_FRAME[1]));
    expect(mp4.samplesInMdat).toBe(true);
  });

  it('remuxes ADTS behind an ID3 tag over REST, stereo at 44.1 kHz', async () => {
    const file = Buffer.concat([id3Tag(300), adtsFile(43, 44100, 2)]);
    const res = await restUpload(t, file, { token, name: 'voice.mp3', language: 'zh' });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ text: '你好，世界', language: 'zh', durationSeconds: 0.998 });
    expect(ai.transcriptions.at(-1)).toMatchObject({ language: 'zh', filename: 'upload.m4a' });
    expect(readMp4(ai.transcribedFiles.at(-1)!)).toMatchObject({ codec: 'mp4a', channels: 2, sampleRate: 44100, sampleCount: 43, samples: Array(43).fill(SILENT_AAC_FRAME[2]) });
  });

  it.each([
    ['a PNG renamed to .mp3', pngFile(), 'UNSUPPORTED_AUDIO_FORMAT'],
    ['an ADTS header followed by noise', Buffer.concat([adtsFile(1).subarray(0, 7), Buffer.alloc(500, 0x55)]), 'UNSUPPORTED_AUDIO_FORMAT'],
    ['a lone ADTS header', adtsFile(1).subarray(0, 9), 'UNSUPPORTED_AUDIO_FORMAT'],
    ['an empty file', Buffer.alloc(0), 'EMPTY_FILE'],
  ])('refuses %s with BAD_REQUEST and never calls the provider', async (_label, file, reason) => {
    const calls = ai.transcriptions.length;
    const res = await gqlUpload(t, file, { token, name: 'voice.mp3', type: 'audio/mpeg' });
    expect(res.status).toBe(400);
    expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'audio', reason } });
    expect(ai.transcriptions.length).toBe(calls);
  });

  it('refuses a bad language code', async () => {
    const calls = ai.transcriptions.length;
    const res = await gqlUpload(t, wavFile(0.1), { token, language: 'not a language!' });
    expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_REQUEST', details: { field: 'language', reason: 'INVALID_LANGUAGE' } });
    const rest = await restUpload(t, wavFile(0.1), { token, language: 'english' });
    expect(rest.body.error.details).toEqual({ field: 'language', reason: 'INVALID_LANGUAGE' });
    expect(ai.transcriptions.length).toBe(calls);
  });

  it('refuses a multipart request without a preflight header (CSRF) before reading the file', async () => {
    const calls = ai.transcriptions.length;
    const res = await gqlUpload(t, wavFile(0.5), { token, preflight: false });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toMatch(/CSRF|preflight/i);
    expect(ai.transcriptions.length).toBe(calls);
  });

  it('refuses an upload without a credential', async () => {
    const res = await gqlUpload(t, wavFile(0.5));
    expect(res.status).toBe(401);
    expect((await restUpload(t, wavFile(0.5))).status).toBe(401);
  });

  it('gives the same results over REST: text in the envelope, 400 for a PNG', async () => {
    const ok = await restUpload(t, mp3File(), { token, language: 'zh' });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ code: 200, message: 'success', data: { text: '你好，世界', language: 'zh', durationSeconds: null } });
    const png = await restUpload(t, pngFile(), { token });
    expect(png.status).toBe(400);
    expect(png.body.error.details).toEqual({ field: 'audio', reason: 'UNSUPPORTED_AUDIO_FORMAT' });
    const wrongType = await fetch(`${t.url}/v1/ai/speech-to-text`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    expect(wrongType.status).toBe(400);
  });

  /** Streams `total` bytes of a multipart upload and reports how far it got and what came back. */
  function streamHugeUpload(path: string, headers: Record<string, string>, total: number, field: string, extraParts = '') {
    return new Promise<{ status?: number; body: string; written: number }>((resolve) => {
      const boundary = 'XBOUNDARYX';
      const req = httpRequest(`${t.url}${path}`, { method: 'POST', headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}` } });
      let written = 0;
      let response: IncomingMessage | undefined;
      let body = '';
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        resolve({ status: response?.statusCode, body, written });
      };
      req.on('response', (res) => {
        response = res;
        res.on('data', (c) => (body += c));
        res.on('end', finish);
        res.on('error', finish);
        res.on('close', finish);
      });
      // The request may fail or close (the server stops reading) before its response is read to
      // the end: then the response's own events finish; without one there is nothing to wait for.
      const ended = () => {
        if (!response) finish();
      };
      req.on('error', ended);
      req.on('close', ended);
      req.write(`${extraParts}--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n`);
      const chunk = Buffer.concat([wavFile(0.01), Buffer.alloc(64 * 1024 - 364)]);
      const pump = () => {
        while (written < total && !req.destroyed) {
          written += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!req.destroyed) req.end(`\r\n--${boundary}--\r\n`);
      };
      pump();
    });
  }

  it('answers PAYLOAD_TOO_LARGE (413) past MAX_UPLOAD_MB and stops reading early, over GraphQL and REST', async () => {
    // Far past the 1 MB limit: what the client manages to write is the limit plus what the
    // loopback socket buffers absorb (up to ~10 MB on Linux), well short of the whole body.
    const total = 64 * 1024 * 1024;
    const operations = `--XBOUNDARYX\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: MUTATION, variables: { audio: null } })}\r\n--XBOUNDARYX\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.audio"]}\r\n`;
    const gql = await streamHugeUpload('/graphql', { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, total, '0', operations);
    expect(gql.status).toBe(413);
    expect(JSON.parse(gql.body).errors[0].extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
    expect(gql.written).toBeLessThan(total / 4);

    const rest = await streamHugeUpload('/v1/ai/speech-to-text', { authorization: `Bearer ${token}` }, total, 'audio');
    expect(rest.status).toBe(413);
    expect(JSON.parse(rest.body)).toMatchObject({ code: 413, data: null, error: { code: 413 } });
    expect(rest.written).toBeLessThan(total / 4);
  });

  it('leaves no temporary files behind', async () => {
    // Uploads are cleaned up after their answers went out: wait until that is done.
    await waitFor(() => JSON.stringify(leftovers()) === JSON.stringify(before), 2000, 'temporary files being removed').catch(() => undefined);
    expect(leftovers()).toEqual(before);
  });
});
