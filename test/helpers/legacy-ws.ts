import WebSocket from 'ws';

/**
 * What the server's frames carry in `data`, by frame type (each field is set only on the frames
 * that have it): `auth` {ok, userId}; `message` {chatId, messageId, seq, delta, done, and on the
 * final frame content, status, usage, error}; `error` {code, message, details, and the
 * clientMessageId / messageId / chatId / retryAfterSeconds it concerns}.
 */
export interface FrameData {
  ok?: boolean;
  userId?: string;
  chatId?: string;
  messageId?: string;
  seq?: number;
  delta?: string;
  reasoningDelta?: string;
  done?: boolean;
  content?: string;
  reasoning?: string;
  status?: string;
  finishReason?: string;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  error?: { code: string; message: string; reason?: string };
  code?: string;
  message?: string;
  details?: { field?: string; reason?: string };
  clientMessageId?: string;
  retryAfterSeconds?: number;
}

/** A frame from the server. Only `pong` comes without `data`; tests read it on the other types. */
export type Frame = { type: string; data: FrameData; timestamp?: string };
type Closed = { code: number; reason: string };

/** A legacy-protocol client that records every frame and can wait for one (never forever). */
export async function connectLegacy(url: string) {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`);
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  let closedWith: Closed | undefined;
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  socket.on('message', (raw) => {
    frames.push(JSON.parse(raw.toString()) as Frame);
    wake();
  });
  socket.once('close', (code, reason) => {
    closedWith = { code, reason: reason.toString() };
    wake();
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connection to /v1/ws within 5 s')), 5000);
    socket.once('open', () => resolve(clearTimeout(timer)));
    socket.once('error', (err) => reject((clearTimeout(timer), err)));
  });

  /** Resolves when `done()` returns a value; rejects after `ms` with what was received. */
  const until = <T>(what: string, done: () => T | undefined, ms: number) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = done();
        if (value === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${what} not seen in ${ms} ms; frames: ${JSON.stringify(frames)}; closed: ${JSON.stringify(closedWith)}`));
      }, ms);
      waiters.add(check);
      check();
    });

  return {
    socket,
    frames,
    send: (frame: unknown) => socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    /** The first frame (received so far or later) that matches. */
    waitFor: (pred: (f: Frame) => unknown, ms = 5000) => until('a matching frame', () => frames.find(pred), ms),
    closed: (ms = 5000) => until('the close', () => closedWith, ms),
    /** Frames of one type, in order. */
    ofType: (type: string) => frames.filter((f) => f.type === type),
  };
}

