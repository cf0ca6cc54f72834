import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AppDeps } from '../deps';
import { type PushAnswer, WechatPush } from './wechat-push';

const PUSH_PATH = '/v1/wechat/push';
/** Pushes are small JSON envelopes; anything bigger is not one. */
const PUSH_BODY_LIMIT = 64 * 1024;

const send = (reply: FastifyReply, a: PushAnswer) => reply.code(a.status).type(`${a.contentType}; charset=utf-8`).send(a.body);

/**
 * The mini-program's message push (configured in the mini-program console with
 * WECHAT_PUSH_TOKEN and WECHAT_PUSH_AES_KEY, safe mode, JSON): GET is WeChat's URL check,
 * POST a push (virtual payment's deliveries). Public: WeChat calls it, signed. Registered
 * only when the push is configured; in its own scope so its raw-body parser and plain
 * answers touch no other route.
 */
export async function registerWechatPushRoutes(app: FastifyInstance, deps: Pick<AppDeps, 'config' | 'payments' | 'logger'>): Promise<void> {
  const push = deps.config.wechatPush;
  const appId = deps.config.wechat.login?.appId;
  if (!push || !appId) return;
  const handler = new WechatPush({ ...push, appId }, deps.payments.virtualDelivery, (err) => deps.logger.error({ component: 'payments', err }, 'a WeChat push could not be handled; WeChat will push it again'));
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: PUSH_BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((err: { statusCode?: number }, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      return reply.code(status).type('text/plain; charset=utf-8').send('fail');
    });
    const doc = { tags: ['payments'], summary: "The mini-program's message push (called by WeChat, not by clients)" };
    scope.get(PUSH_PATH, { schema: doc }, async (req, reply) => send(reply, handler.verifyUrl(req.query as Record<string, unknown>)));
    scope.post(PUSH_PATH, { schema: doc }, async (req, reply) => send(reply, await handler.receive(req.query as Record<string, unknown>, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0))));
  });
}
