import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PaymentNotifications } from './notifications';

/** Provider notifications are small; anything bigger is not one. */
const NOTIFY_BODY_LIMIT = 64 * 1024;

const WECHAT_NOTIFY = '/v1/pay/wechat/notify';
const ALIPAY_NOTIFY = '/v1/pay/alipay/notify';

const wechatFail = { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', enum: ['FAIL'] }, message: { type: 'string' } } };

/** WeChat Pay API v3 payment notification: a signed JSON envelope with the AES-GCM encrypted transaction. */
const WECHAT_NOTIFY_SCHEMA = {
  summary: 'WeChat Pay payment notification (called by WeChat Pay, not by clients)',
  description:
    'Verified with the Wechatpay-Signature, -Timestamp, -Nonce and -Serial headers over the exact body, then the resource is decrypted with the API v3 key. ' +
    'Answers 204 when handled (or already handled); any other answer makes WeChat Pay retry.',
  tags: ['payments'],
  body: {
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['id', 'event_type', 'resource'],
          properties: {
            id: { type: 'string' },
            create_time: { type: 'string' },
            event_type: { type: 'string', examples: ['TRANSACTION.SUCCESS'] },
            resource_type: { type: 'string', examples: ['encrypt-resource'] },
            summary: { type: 'string' },
            resource: {
              type: 'object',
              required: ['algorithm', 'ciphertext', 'nonce'],
              properties: { algorithm: { type: 'string', examples: ['AEAD_AES_256_GCM'] }, ciphertext: { type: 'string' }, associated_data: { type: 'string' }, nonce: { type: 'string' }, original_type: { type: 'string' } },
            },
          },
        },
      },
    },
  },
  response: {
    204: { description: 'Handled; WeChat Pay stops notifying', type: 'null' },
    '4xx': { description: 'Refused (bad signature, malformed or oversized body); WeChat Pay retries', ...wechatFail },
    '5xx': { description: 'Not handled now; WeChat Pay retries', ...wechatFail },
  },
} as const;

/** Alipay asynchronous notification: RSA2-signed form fields. */
const ALIPAY_NOTIFY_SCHEMA = {
  summary: 'Alipay payment notification (called by Alipay, not by clients)',
  description: 'Verified with Alipay\'s public key over the form fields (sign, sign_type). Answers the text `success` when handled (or already handled), else `fail`, on which Alipay retries.',
  tags: ['payments'],
  body: {
    content: {
      'application/x-www-form-urlencoded': {
        schema: {
          type: 'object',
          required: ['notify_id', 'app_id', 'out_trade_no', 'trade_status', 'sign', 'sign_type'],
          properties: {
            notify_time: { type: 'string' },
            notify_type: { type: 'string', examples: ['trade_status_sync'] },
            notify_id: { type: 'string' },
            app_id: { type: 'string' },
            charset: { type: 'string' },
            version: { type: 'string' },
            sign_type: { type: 'string', examples: ['RSA2'] },
            sign: { type: 'string' },
            trade_no: { type: 'string' },
            out_trade_no: { type: 'string' },
            trade_status: { type: 'string', enum: ['WAIT_BUYER_PAY', 'TRADE_CLOSED', 'TRADE_SUCCESS', 'TRADE_FINISHED'] },
            total_amount: { type: 'string', description: 'Yuan, two decimals' },
            receipt_amount: { type: 'string' },
            buyer_pay_amount: { type: 'string' },
            gmt_payment: { type: 'string' },
          },
          additionalProperties: { type: 'string' },
        },
      },
    },
  },
  response: {
    200: { description: '`success` when handled, `fail` to be notified again', content: { 'text/plain': { schema: { type: 'string', enum: ['success', 'fail'] } } } },
    '4xx': { description: 'Refused before reading (malformed or oversized body): the text `fail`', content: { 'text/plain': { schema: { type: 'string', enum: ['fail'] } } } },
    '5xx': { description: 'Not handled now: the text `fail`', content: { 'text/plain': { schema: { type: 'string', enum: ['fail'] } } } },
  },
} as const;

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
    // The schemas below describe the routes in /v1/openapi.json for whoever configures the
    // providers; they check nothing. The bodies are read raw (signatures cover the exact bytes)
    // and the answers are in the providers' formats, so validation and the schema-based
    // serializer are switched off for these two routes.
    const documentOnly = { validatorCompiler: () => () => true, serializerCompiler: () => (data: unknown) => JSON.stringify(data) };

    scope.post(WECHAT_NOTIFY, { schema: WECHAT_NOTIFY_SCHEMA, ...documentOnly }, async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const answer = await notifications.wechat(req.headers, raw);
      if (answer.status === 204) return reply.code(204).send();
      return reply.code(answer.status).send(answer.body);
    });

    scope.post(ALIPAY_NOTIFY, { schema: ALIPAY_NOTIFY_SCHEMA, ...documentOnly }, async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      const form = Object.fromEntries(new URLSearchParams(raw));
      const answer = await notifications.alipay(form);
      return reply.code(200).type('text/plain; charset=utf-8').send(answer);
    });
  });
}
