import type { WebSocket } from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RawData } from 'ws';
import { type AppContext, createContext, type Viewer } from '../context';
import type { AppDeps } from '../deps';
import { AppError, BadRequestError, describeError, UnauthenticatedError } from '../core/errors';
import { limitKey } from '../limits/rate-limits';
import { type Data, type Frame, isObject, messageInput, parseFrame, replyFrame, str } from './legacy-frames';
import { watchCredential } from './credential-watch';

/** The legacy protocol's close code for a missing, refused, revoked or expired credential. */
export const LEGACY_UNAUTHORIZED = 4401;
/** A WebSocket close reason is at most 123 bytes; ws throws on longer ones. */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * One `/v1/ws` connection: JSON frames `{type, data, timestamp}` for clients
 * that cannot speak graphql-ws. `auth` first; then each `message` frame runs sendMessage
 * (streaming) on the same services as GraphQL and streams the reply back; `ping` gets `pong`
 * once signed in.
 */
class LegacySession {
  private viewer: Viewer | null = null;
  private closed = false;
  private operations = 0;
  private readonly authTimer: NodeJS.Timeout;
  /** Stops watching the current credential (logout, revocation, expiry). */
  private unwatch: () => void = () => undefined;
  private inbox: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: WebSocket,
    private readonly req: FastifyRequest,
    private readonly deps: AppDeps,
  ) {
    this.authTimer = setTimeout(() => this.refuse('No auth frame in time'), deps.config.timings.sockets.legacyAuthTimeoutMs);
    // Frames are handled in order, so a message sent right after `auth` (before its answer)
    // finds the viewer and messages to one chat are stored in the order sent. Replies stream
    // on their own and do not hold up the frames after them.
    socket.on('message', (raw) => {
      this.inbox = this.inbox.then(() => this.receive(raw)).catch((err: unknown) => this.sendError(err));
    });
    socket.once('close', () => {
      this.closed = true;
      clearTimeout(this.authTimer);
      this.unwatch();
    });
  }

  private send(type: string, data?: unknown): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify({ type, ...(data === undefined ? {} : { data }), timestamp: new Date().toISOString() }));
  }

  /** An `error` frame with the API's error code; details and client-safe extras, never a stack. */
  private sendError(err: unknown, context?: Data): void {
    const d = describeError(err);
    if (d.internal) this.deps.logger.error({ err, requestId: this.req.id }, 'unexpected error on the legacy socket');
    const retry = d.retryAfterSeconds !== undefined ? { retryAfterSeconds: d.retryAfterSeconds } : {};
    this.send('error', { code: d.code, message: d.message, ...(d.details ? { details: d.details } : {}), ...retry, ...context });
  }

  /** An UNAUTHENTICATED `error` frame, then close 4401. */
  private refuse(message: string): void {
    this.sendError(new UnauthenticatedError(message));
    const reason = Buffer.byteLength(message) <= MAX_CLOSE_REASON_BYTES ? message : 'Unauthenticated';
    this.socket.close(LEGACY_UNAUTHORIZED, reason);
  }

  private async receive(raw: RawData): Promise<void> {
    if (this.closed) return; // queued behind a frame that closed the socket
    const frame = parseFrame(raw);
    if (frame?.type === 'auth') return this.authenticate(frame);
    // Before auth, anything else (a ping too) is refused outright: the protocol starts with auth.
    if (!this.viewer) return this.refuse('Send an auth frame first');
    if (frame?.type === 'ping') return this.send('pong');
    if (!frame) return this.sendError(new BadRequestError('Frames are JSON objects', { reason: 'MALFORMED_FRAME' }));
    if (frame.type === 'message') return this.message(this.viewer, frame.data);
    const named = typeof frame.type === 'string' && frame.type.length <= 32 ? ` "${frame.type}"` : '';
    this.sendError(new BadRequestError(`Unknown frame type${named}; expected auth, message or ping`, { field: 'type', reason: 'UNKNOWN_TYPE' }));
  }

  /** Each auth and message frame is one request for the request limit, like an HTTP call. */
  private countRequest(): Promise<void> {
    return this.deps.rateLimits.consume('request', limitKey({ userId: this.viewer?.userId, ip: this.req.ip }));
  }

  private async authenticate(frame: Frame): Promise<void> {
    const data = isObject(frame.data) ? frame.data : {};
    // Older clients put the token at the top level; `data.token` and API keys are accepted too.
    const token = (str(frame.token) ?? str(data.token))?.replace(/^Bearer\s+/i, '');
    const apiKey = str(frame.apiKey) ?? str(data.apiKey);
    if (!token && !apiKey) return this.refuse('The auth frame needs a token or an API key');
    await this.countRequest();
    const who = await this.deps.authenticator.identify({ authorization: token ? `Bearer ${token}` : undefined, apiKey });
    if (this.closed) return; // gone while checking: registering now would never be undone
    if (!who.viewer) return this.refuse(who.authError?.message ?? 'Invalid credential');
    // A later auth frame may renew the credential (a fresh token before the old one expires),
    // but the socket's user never changes under replies that are already streaming.
    if (this.viewer && this.viewer.userId !== who.viewer.userId) {
      return this.sendError(new BadRequestError('This socket is signed in as another user; open a new one', { reason: 'ALREADY_AUTHENTICATED' }));
    }
    clearTimeout(this.authTimer);
    this.viewer = who.viewer;
    this.send('auth', { ok: true, userId: who.viewer.userId });
    this.watch(who.viewer);
  }

  /** Like graphql-ws sockets: closed at once on logout or key revocation, and when the JWT expires. */
  private watch(viewer: Viewer): void {
    this.unwatch();
    this.unwatch = watchCredential(this.deps.authenticator.sessions, viewer, (reason) => this.refuse(reason));
  }

  /** Runs sendMessage (streaming) in its own context, then forwards the reply in the background. */
  private async message(viewer: Viewer, data: unknown): Promise<void> {
    const clientMessageId = isObject(data) ? str(data.clientMessageId) : undefined;
    const ctx: AppContext = createContext(this.deps, { viewer, requestId: `${this.req.id}:${++this.operations}`, ip: this.req.ip });
    let messageId: string;
    try {
      await this.countRequest();
      const input = messageInput(data);
      // The credential may have been revoked on another instance since auth.
      await this.deps.authenticator.recheck(viewer);
      ({ messageId } = await ctx.services.replies.send(viewer, input));
    } catch (err) {
      if (err instanceof AppError && err.code === 'UNAUTHENTICATED') return this.refuse(err.message);
      // Echo the client's key so it can tell which of its messages failed.
      return this.sendError(err, clientMessageId ? { clientMessageId } : undefined);
    }
    void this.forward(ctx, viewer, messageId);
  }

  /** The reply's events as `message` frames; a failed reply also gets an `error` frame. */
  private async forward(ctx: AppContext, viewer: Viewer, messageId: string): Promise<void> {
    try {
      for await (const e of await ctx.services.replies.replyEvents(viewer, messageId, 0)) {
        if (this.closed) return; // the reply goes on and is stored; nobody is listening here
        this.send('message', replyFrame(e));
        if (e.error) this.send('error', { ...e.error, chatId: e.sessionId, messageId: e.messageId });
        if (e.done) return;
      }
    } catch (err) {
      this.sendError(err, { messageId });
    }
  }
}

/** Mounts the legacy protocol on `GET /v1/ws` (hidden from the OpenAPI description). */
export function registerLegacySocket(app: FastifyInstance, deps: AppDeps): void {
  app.get('/v1/ws', { websocket: true, schema: { hide: true } }, (socket, req) => {
    new LegacySession(socket, req, deps);
  });
}
