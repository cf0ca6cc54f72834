import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { listenFake } from './http-fake';

/** One `POST /v1/audio/speech` call as the fake received it, and what it answered. */
export interface FakeSpeechCall {
  model?: string;
  voice?: string;
  input?: string;
  responseFormat?: string;
  headers: IncomingHttpHeaders;
  /** The audio answered (undefined when the call was answered with an error). */
  audio?: Buffer;
}

/** A scripted failure of one call: OpenAI's error JSON with this status. */
export interface FakeSpeechError {
  status: number;
  message: string;
  type?: string;
  code?: string | null;
}

/**
 * A small valid MP3 (an ID3v2 tag, then `frames` MPEG-1 layer III frames at 128 kbit/s,
 * 44.1 kHz: 1152 samples each) whose frame payloads carry `mark`, so each call's audio is
 * told apart in a joined file.
 */
export function markedMp3(mark: number, frames = 3): Buffer {
  const id3 = Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  const frame = Buffer.alloc(417, mark & 0xff);
  frame.set([0xff, 0xfb, 0x90, 0x64]);
  return Buffer.concat([id3, ...Array.from({ length: frames }, () => frame)]);
}

/** Seconds of `frames` frames of markedMp3. */
export const mp3Seconds = (frames: number) => Math.round(((frames * 1152) / 44100) * 1000) / 1000;

/**
 * A fake of OpenAI's text-to-speech endpoint (`POST /v1/audio/speech`: JSON `{model, input,
 * voice, response_format}` in, the audio bytes out as audio/mpeg), speaking the real wire
 * protocol so the `openai` SDK works against it unchanged. Each call is recorded; the audio of
 * call n (from 1) is `markedMp3(n)` unless `audio` says otherwise.
 */
export async function startFakeOpenAISpeech(options: { apiKey?: string } = {}) {
  const apiKey = options.apiKey ?? 'sk-fake-tts';
  const sendError = (res: ServerResponse, e: FakeSpeechError) => {
    res.writeHead(e.status, { 'content-type': 'application/json', 'x-request-id': `req_${randomBytes(8).toString('hex')}`, ...(e.status === 429 ? { 'retry-after': '0' } : {}) });
    res.end(JSON.stringify({ error: { message: e.message, type: e.type ?? 'invalid_request_error', param: null, code: e.code ?? null } }));
  };

  const server = await listenFake(async (req, res, raw) => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    if (req.method !== 'POST' || path !== '/v1/audio/speech') return sendError(res, { status: 404, message: `Invalid URL (${req.method} ${path})` });
    if (req.headers.authorization !== `Bearer ${apiKey}`) return sendError(res, { status: 401, message: 'Incorrect API key provided', code: 'invalid_api_key' });
    let body: { model?: string; voice?: string; input?: string; response_format?: string };
    try {
      body = JSON.parse(raw.toString('utf8')) as typeof body;
    } catch {
      return sendError(res, { status: 400, message: 'We could not parse the JSON body of your request.' });
    }
    const call: FakeSpeechCall = { model: body.model, voice: body.voice, input: body.input, responseFormat: body.response_format, headers: req.headers };
    state.calls.push(call);
    const failure = state.nextErrors.shift();
    if (failure) return sendError(res, failure);
    if (typeof body.input !== 'string' || body.input.length > 4096) return sendError(res, { status: 400, message: "Invalid 'input': string too long. Expected a string with maximum length 4096." });
    call.audio = state.audio(state.calls.length, body.input);
    res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': String(call.audio.length) });
    res.end(call.audio);
  });

  const baseURL = `${server.url}/v1`;
  const state = {
    baseURL,
    apiKey,
    calls: [] as FakeSpeechCall[],
    /** Failures for the next calls, one consumed per call. */
    nextErrors: [] as FakeSpeechError[],
    /** The audio of call `n` (from 1). */
    audio: (n: number, _input: string): Buffer => markedMp3(n),
    /** The settings that point the server's text to speech here. */
    env(): Record<string, string> {
      return { TTS_BASE_URL: baseURL, TTS_API_KEY: apiKey };
    },
    close: () => server.close(),
  };
  return state;
}

export type FakeOpenAISpeech = Awaited<ReturnType<typeof startFakeOpenAISpeech>>;
