import { createHmac, timingSafeEqual } from 'node:crypto';
import { listenFake, scriptedDelays } from './http-fake';

export interface WebhookCall {
  body: { text?: unknown; stage?: unknown; userId?: unknown; requestId?: unknown };
  /** Whether X-Signature was the HMAC-SHA256 of the raw body with the shared secret. */
  signed: boolean;
}

export type WebhookAnswer = { action: 'pass' } | { action: 'block'; labels: string[] } | { action: 'mask'; labels: string[]; text: string };

/**
 * An operator's moderation webhook as the API describes it: it checks `X-Signature:
 * sha256=<hex HMAC-SHA256 of the raw body>` with the shared secret (401 without a valid one)
 * and answers `{action, labels, text}` from the test's `judge`. `mode` makes it fail: 'down'
 * answers 500, 'hang' never answers, 'garbage' answers JSON without an action.
 */
export async function startFakeModerationWebhook(secret = 'webhook-secret-0123456789') {
  const delays = scriptedDelays();
  const state = {
    calls: [] as WebhookCall[],
    mode: 'ok' as 'ok' | 'down' | 'hang' | 'garbage',
    /** How long each answer takes (scripted latency). */
    delayMs: 0,
    judge: (_text: string, _stage: string): WebhookAnswer => ({ action: 'pass' }),
  };
  const server = await listenFake(async (req, res, raw) => {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
    const given = Buffer.from(String(req.headers['x-signature'] ?? ''));
    const signed = given.length === expected.length && timingSafeEqual(given, expected);
    const body = JSON.parse(raw.toString('utf8')) as WebhookCall['body'];
    state.calls.push({ body, signed });
    if (!signed) return void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad signature' }));
    if (state.delayMs) await delays.sleep(state.delayMs);
    if (state.mode === 'hang') return;
    if (state.mode === 'down') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
    if (state.mode === 'garbage') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
    const answer = state.judge(String(body.text), String(body.stage));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ labels: [], ...answer }));
  });
  return Object.assign(state, {
    url: server.url,
    secret,
    env: (): Record<string, string> => ({ MODERATION_WEBHOOK_URL: `${server.url}/check`, MODERATION_WEBHOOK_SECRET: secret }),
    close: async () => {
      delays.clear();
      await server.close();
    },
  });
}

export type FakeModerationWebhook = Awaited<ReturnType<typeof startFakeModerationWebhook>>;
