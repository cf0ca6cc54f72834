import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_KEY_PREFIX } from '../accounts/api-key-secret';
import type { Credentials } from '../accounts/authenticator';
import { AppError, describeError, NotFoundError, UnauthenticatedError } from '../core/errors';
import type { Viewer } from '../core/viewer';
import { createContext } from '../context';
import type { AppDeps } from '../deps';
import { openEventStream } from '../http/event-stream';
import { asAppError } from '../http/http-errors';
import { limitKey } from '../limits/rate-limits';
import { CHAT_COMPLETION_BODY, type ChatCompletionRequest } from './openai-shapes';
import { toOpenAiError } from './openai-errors';
import { OpenAiService } from './openai.service';
import { readTranscriptionUpload } from './openai-upload';

export const OPENAI_PREFIX = '/openai/v1';

/**
 * The credentials as OpenAI clients send them: the API key in `Authorization: Bearer`
 * (every SDK does that), or in `X-API-Key`. A Bearer value that is not one of our API keys
 * is taken for a login JWT, which is accepted too (handy for our own web client); the
 * authenticator checks either as it does everywhere else.
 */
function credentialsOf(req: FastifyRequest): Credentials {
  const header = req.headers.authorization;
  const xKey = typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : undefined;
  const bearer = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
  if (bearer?.startsWith(API_KEY_PREFIX)) {
    if (xKey !== undefined && xKey !== bearer) throw new UnauthenticatedError('Authorization and X-API-Key hold different keys; send one');
    return { apiKey: bearer };
  }
  return { authorization: header, apiKey: xKey };
}


function sendOpenAiError(reply: FastifyReply, err: unknown): FastifyReply {
  const e = toOpenAiError(describeError(err));
  if (e.retryAfterSeconds !== undefined) reply.header('retry-after', String(e.retryAfterSeconds));
  if (e.shouldRetry === false) reply.header('x-should-retry', 'false');
  return reply.code(e.status).send(e.body);
}

/**
 * The OpenAI-compatible API under /openai/v1 (chat completions, models, transcriptions), for
 * OpenAI SDKs and tools built on them. Requests are never stored as chats; they are charged,
 * limited and moderated as sendMessage is. Kept out of the /v1 OpenAPI document: they follow
 * OpenAI's own specification.
 */
export async function registerOpenAiRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  await app.register(
    async (scope) => {
      scope.setErrorHandler((err: FastifyError, req, reply) => {
        const mapped = asAppError(err);
        if (!(mapped instanceof AppError)) req.log.error({ err, requestId: req.id }, 'unexpected error');
        return sendOpenAiError(reply, mapped);
      });
      scope.setNotFoundHandler((req, reply) => sendOpenAiError(reply, new NotFoundError(`No route ${req.method} ${req.url.split('?')[0]}`)));
      // Who is calling, and the per-user request limit, before the body is read.
      scope.addHook('onRequest', async (req) => {
        const who = await deps.authenticator.identify(credentialsOf(req));
        req.identification = who;
        if (!who.viewer) throw who.authError ?? new UnauthenticatedError('Missing API key: send Authorization: Bearer <key>');
        await deps.rateLimits.consume('request', limitKey({ userId: who.viewer.userId, ip: req.ip }));
      });
      const viewerOf = (req: FastifyRequest): Viewer => req.identification!.viewer!;
      const serviceFor = (req: FastifyRequest) => {
        const { services } = createContext(deps, { viewer: viewerOf(req), requestId: req.id, ip: req.ip });
        return new OpenAiService({ replies: services.replies, speech: services.speech, rateLimits: deps.rateLimits, catalog: deps.catalog, logger: deps.logger.child({ requestId: req.id }) });
      };

      scope.get('/models', { schema: { hide: true } }, async (req) => serviceFor(req).models());
      // Model ids may hold slashes (deepseek/deepseek-r1), hence the wildcard.
      scope.get('/models/*', { schema: { hide: true } }, async (req) => serviceFor(req).model((req.params as { '*': string })['*']));

      scope.post('/chat/completions', { schema: { hide: true, body: CHAT_COMPLETION_BODY } }, async (req, reply) => {
        const body = req.body as ChatCompletionRequest;
        const service = serviceFor(req);
        if (body.stream !== true) return service.complete(viewerOf(req), body);
        const started = await service.stream(viewerOf(req), body);
        const sse = openEventStream(reply, { keepAliveMs: deps.config.timings.streaming.keepAliveMs });
        // Nobody can follow an unstored reply later: a client that leaves stops it (charged for what it used).
        sse.signal.addEventListener('abort', () => void started.stop().catch(() => undefined));
        try {
          for await (const chunk of started.chunks) sse.send(undefined, chunk);
          sse.sendText(undefined, '[DONE]');
        } catch (err) {
          // Mid-stream, OpenAI sends the error as an event; its SDKs throw it.
          sse.send(undefined, toOpenAiError(describeError(err)).body);
        } finally {
          sse.end();
        }
        return reply;
      });

      scope.post('/audio/transcriptions', { schema: { hide: true } }, async (req, reply) => {
        const upload = await readTranscriptionUpload(req.raw, deps.config.stt.maxUploadBytes);
        reply.raw.once('close', upload.release);
        const answer = await serviceFor(req).transcribe(viewerOf(req), upload.file, upload.fields);
        if (answer.kind === 'text') return reply.type('text/plain; charset=utf-8').send(answer.text);
        return answer.body;
      });
    },
    { prefix: OPENAI_PREFIX },
  );
}
