import { createHmac } from 'node:crypto';
import { type CheckContext, CheckerError, type RemoteEngine, type Verdict } from './types';

export interface WebhookOptions {
  url: string;
  secret: string;
  timeoutMs: number;
}

/** The signature header's value: HMAC-SHA256 of the exact body bytes, hex. */
export function signWebhookBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * The operator's own checker (MODERATION_WEBHOOK_URL): POST {text, stage, userId, requestId}
 * signed with X-Signature, answered with {action: pass|block|mask, labels, text}. Anything
 * else (a timeout, a non-2xx status, an answer that is not that shape) is a CheckerError.
 */
export class WebhookCheck implements RemoteEngine {
  readonly name = 'webhook';
  /** One call takes any message the API accepts (32,000 characters). */
  readonly maxChars = 32_000;

  constructor(private readonly opts: WebhookOptions) {}

  applies(): boolean {
    return true;
  }

  async check(text: string, ctx: CheckContext): Promise<Verdict> {
    const body = JSON.stringify({ text, stage: ctx.stage === 'INPUT' ? 'input' : 'output', userId: ctx.author.userId, requestId: ctx.requestId });
    let res: Response;
    let answer: unknown;
    try {
      res = await fetch(this.opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-signature': signWebhookBody(body, this.opts.secret) },
        body,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      const raw = await res.text();
      if (!res.ok) throw new CheckerError(this.name, `the moderation webhook answered HTTP ${res.status}`);
      answer = JSON.parse(raw);
    } catch (err) {
      if (err instanceof CheckerError) throw err;
      const what = (err as Error).name === 'TimeoutError' ? `no answer within ${this.opts.timeoutMs} ms` : (err as Error).name === 'SyntaxError' ? 'an answer that is not JSON' : (err as Error).message;
      throw new CheckerError(this.name, `the moderation webhook failed: ${what}`);
    }
    return verdictOf(answer);
  }
}

function verdictOf(answer: unknown): Verdict {
  const a = (typeof answer === 'object' && answer !== null ? answer : {}) as { action?: unknown; labels?: unknown; text?: unknown };
  const labels = Array.isArray(a.labels) ? a.labels.filter((l): l is string => typeof l === 'string') : [];
  if (a.action === 'pass') return { action: 'pass' };
  if (a.action === 'block') return { action: 'block', labels };
  if (a.action === 'mask' && typeof a.text === 'string') return { action: 'mask', labels, text: a.text };
  throw new CheckerError('webhook', `the moderation webhook answered without a valid action: ${JSON.stringify(answer).slice(0, 200)}`);
}
