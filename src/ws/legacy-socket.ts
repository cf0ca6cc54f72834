import type { WebSocket } from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AppContext, createContext, type Viewer } from '../context';
import type { AppDeps } from '../deps';
import { BadRequestError, UnauthenticatedError } from '../errors';
import { classifyError } from '../schema/format-error';
import { credentialKey } from '../services/auth/live-sessions';

/** The legacy protocol's close code for a missing or refused credential. */
export const LEGACY_UNAUTHORIZED = 4401;
/** How long a client may take to authenticate after connecting. */
const AUTH_TIMEOUT_MS = 10_000;

interface Frame {
  type?: unknown;
  token?: unknown;
  apiKey?: unknown;
  data?: Record<string, unknown>;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/**
 * One `/v1/ws` connection (contract §3): JSON frames `{type, data, timestamp}` for clients
 * that cannot speak graphql-ws. `auth` first, then `message` frames run sendMessage
 * (streaming) on the same services and stream the reply back; `ping` gets `pong`.
 */
class LegacySession {
  private viewer: Viewer | null = null;
  private closed = false;
  private operations = 0;
  private readonly cleanups: Array<() => void> = [];
  private inbox: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: WebSocket,
    private readonly req: FastifyRequest,
    private readonly deps: AppDeps,
  ) {
    const authTimer = setTimeout(() => this.refuse('Send an auth frame first'), AUTH_TIMEOUT_MS);
    this.cleanups.push(() => clearTimeout(authTimer));
    // In order, so a message sent right after auth (before its answer) still finds the viewer;
    // a reply streams on its own and does not hold up the frames after it.
    socket.on('message', (raw) => {
      this.inbox = this.inbox.then(() => this.receive(String(raw))).catch((err) => this.sendError(err));
    });
    socket.once('close', () => {
      this.closed = true;
      for (const cleanup of this.cleanups) cleanup();
    });
  }

  private send(type: string, data?: unknown): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify({ type, ...(data === undefined ? {} : { data }), timestamp: new Date().toISOString() }));
  }

  private sendError(err: unknown): void {
    const c = classifyError(err);
    if (c.internal) this.deps.logger.error({ err, requestId: this.req.id }, 'unexpected error on the legacy socket');
    this.send('error', { code: c.code, message: c.message, ...(c.details ? { details: c.details } : {}), ...c.extra });
  }

  /** An `error` frame, then close 4401. */
  private refuse(message: string): void {
    this.sendError(new UnauthenticatedError(message));
    this.socket.close(LEGACY_UNAUTHORIZED, message);
  }

  private async receive(raw: string): Promise<void> {
    let frame: Frame;
    try {
      frame = JSON.parse(raw) as Frame;
      if (!frame || typeof frame !== 'object') throw new Error('not an object');
    } catch {
      if (!this.viewer) return this.refuse('Send an auth frame first');
      return this.sendError(new BadRequestError('Frames are JSON objects', { reason: 'MALFORMED_FRAME' }));
    }
    if (frame.type === 'ping') return this.send('pong');
    if (frame.type === 'auth') return this.authenticate(frame);
    if (!this.viewer) return this.refuse('Send an auth frame first');
    if (frame.type === 'message') return void this.message(frame.data ?? {});
    this.sendError(new BadRequestError(`Unknown frame type ${String(frame.type)}`, { field: 'type', reason: 'UNKNOWN_TYPE' }));
  }

  private async authenticate(frame: Frame): Promise<void> {
    const token = str(frame.token) ?? str(frame.data?.token);
    const apiKey = str(frame.apiKey) ?? str(frame.data?.apiKey);
    const who = await this.deps.authenticator.identify({ authorization: token ? `Bearer ${token}` : undefined, apiKey });
    if (!who.viewer) return this.refuse(who.authError?.message ?? 'A token or API key is required');
    if (this.viewer) return this.send('auth', { ok: true, userId: this.viewer.userId });
    const viewer = who.viewer;
    this.viewer = viewer;
    for (const cleanup of this.cleanups.splice(0)) cleanup(); // the auth timer
    const close = (reason: string) => this.refuse(reason);
    this.cleanups.push(this.deps.authenticator.sessions.register(credentialKey(viewer.credential), close));
    if (viewer.credential.kind === 'jwt') {
      const expiry = setTimeout(() => close('Token expired'), Math.max(0, viewer.credential.expiresAt.getTime() - Date.now()));
      expiry.unref();
      this.cleanups.push(() => clearTimeout(expiry));
    }
    this.send('auth', { ok: true, userId: viewer.userId });
  }

  /** Runs sendMessage (streaming) and forwards the reply's events as `message` frames. */
  private async message(data: Record<string, unknown>): Promise<void> {
    const viewer = this.viewer!;
    const ctx: AppContext = createContext(this.deps, { viewer, requestId: `${this.req.id}:${++this.operations}`, ip: this.req.ip });
    try {
      await this.deps.authenticator.recheck(viewer);
      const content = str(data.content) ?? '';
      const sent = await ctx.services.replies.send(viewer, {
        content,
        sessionId: str(data.chatId),
        modelId: str(data.modelId),
        clientMessageId: str(data.clientMessageId),
        stream: true,
      });
      for await (const e of await ctx.services.replies.replyEvents(viewer, sent.messageId, 0)) {
        if (this.closed) return;
        const frame: Record<string, unknown> = { chatId: sent.sessionId, messageId: e.messageId, seq: e.seq, delta: e.delta, done: e.done };
        if (e.done && e.message) {
          const m = e.message;
          frame.content = m.content;
          frame.status = m.status;
          frame.usage = { prompt_tokens: m.promptTokens ?? 0, completion_tokens: m.completionTokens ?? 0, total_tokens: m.totalTokens ?? 0 };
        }
        if (e.error) frame.error = e.error;
        this.send('message', frame);
        if (e.error) this.send('error', e.error);
        if (e.done) return;
      }
    } catch (err) {
      this.sendError(err);
    }
  }
}

/** Mounts `/v1/ws`. */
export function registerLegacySocket(app: FastifyInstance, deps: AppDeps): void {
  app.get('/v1/ws', { websocket: true, schema: { hide: true } }, (socket, req) => {
    new LegacySession(socket, req, deps);
  });
}
