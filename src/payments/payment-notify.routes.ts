import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PaymentNotifications } from './notifications';

/** Provider notifications are small; anything bigger is not one. */
const NOTIFY_BODY_LIMIT = 64 * 1024;

const WECHAT_NOTIFY = '/v1/pay/wechat/notify';
const ALIPAY_NOTIFY = '/v1/pay/alipay/notify';

/**
 * A request refused before its handler ran (a body over the limit, a malformed Content-Type
 * or Content-Length) or a failure inside it, answered in the provider's own format rather
 * than the /v1 envelope, which neither provider reads: WeChat Pay expects
 * `{"code": "FAIL", "message"}` with a 4xx/5xx, Alipay the text `fail`. Both then retry.
 */
function notifyErrorHandler(app: FastifyInstance) {
  return (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) app.log.error({ err, requestId: req.id }, 'unexpected error in a payment notification');
    // fastify's own 4xx messages say what was wrong and hold nothing secret.
    const message = status === 500 ? 'temporarily unable to process' : err.message;
    if (req.routeOptions.url === ALIPAY_NOTIFY) return reply.code(status).type('text/plain; charset=utf-8').send('fail');
    return reply.code(status).send({ code: 'FAIL', message });
  };
}

/**
 * The provider callbacks (public, not rate-limited: they come from WeChat Pay and Alipay).
 * Registered in their own scope so the body parsers here (raw bytes for WeChat Pay, whose
 * signature covers the exact body; form fields for Alipay) and the error answers touch no
 * other route.
 */
export async function registerPaymentNotifyRoutes(app: FastifyInstance, notifications: PaymentNotifications): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: NOTIFY_BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.setErrorHandler(notifyErrorHandler(app));
    const hidden = { hide: true };

    scope.post(WECHAT_NOTIFY, { schema: hidden }, async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const answer = await notifications.wechat(req.headers, raw);
      if (answer.status === 204) return reply.code(204).send();
      return reply.code(answer.status).send(answer.body);
    });

    scope.post(ALIPAY_NOTIFY, { schema: hidden }, async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      const form = Object.fromEntries(new URLSearchParams(raw));
      const answer = await notifications.alipay(form);
      return reply.code(200).type('text/plain; charset=utf-8').send(answer);
    });
  });
}
