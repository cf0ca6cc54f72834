import type { FastifyInstance } from 'fastify';
import type { PaymentNotifications } from './notifications';

/** Provider notifications are small; anything bigger is not one. */
const NOTIFY_BODY_LIMIT = 64 * 1024;

/**
 * The provider callbacks (public, not rate-limited: they come from WeChat Pay and Alipay).
 * Registered in their own scope so the body parsers here (raw bytes for WeChat Pay, whose
 * signature covers the exact body; form fields for Alipay) touch no other route.
 */
export async function registerPaymentNotifyRoutes(app: FastifyInstance, notifications: PaymentNotifications): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: NOTIFY_BODY_LIMIT }, (_req, body, done) => done(null, body));
    const hidden = { hide: true };

    scope.post('/v1/pay/wechat/notify', { schema: hidden }, async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const answer = await notifications.wechat(req.headers, raw);
      if (answer.status === 204) return reply.code(204).send();
      return reply.code(answer.status).send(answer.body);
    });

    scope.post('/v1/pay/alipay/notify', { schema: hidden }, async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      const form = Object.fromEntries(new URLSearchParams(raw));
      const answer = await notifications.alipay(form);
      return reply.code(200).type('text/plain; charset=utf-8').send(answer);
    });
  });
}
