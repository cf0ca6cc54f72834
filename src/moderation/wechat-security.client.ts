import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { type CheckContext, CheckerError, type ContentAuthor, type RemoteEngine, type Verdict } from './types';
import type { WechatAccessTokens } from './wechat-token';

/** WeChat's documented limit for msgSecCheck: 4,000 calls a minute per app. */
export const MSG_SEC_CHECK_PER_MINUTE = 4_000;

/**
 * The app's msgSecCheck calls this minute, counted by every instance together when Redis is
 * there (a per-process count stands in while it is not, as for the rate limits).
 */
export class CallBudget {
  private readonly limiter: RateLimiterAbstract;

  constructor(appId: string, perMinute: number, shared?: { redis: Redis; prefix: string }) {
    const memory = new RateLimiterMemory({ keyPrefix: 'moderation:wechat', points: perMinute, duration: 60 });
    this.limiter = shared ? new RateLimiterRedis({ storeClient: shared.redis, keyPrefix: `${shared.prefix}moderation:wechat`, points: perMinute, duration: 60, insuranceLimiter: memory }) : memory;
    this.key = appId;
  }

  private readonly key: string;

  /** Takes one call; false when this minute's calls are used up. */
  async take(): Promise<boolean> {
    try {
      await this.limiter.consume(this.key);
      return true;
    } catch (err) {
      if (err instanceof RateLimiterRes) return false;
      throw err;
    }
  }
}

interface MsgSecCheckAnswer {
  errcode?: number;
  errmsg?: string;
  trace_id?: string;
  result?: { suggest?: string; label?: number };
  detail?: Array<{ strategy?: string; errcode?: number; suggest?: string; label?: number; keyword?: string; prob?: number }>;
}

/** The token was refused: WeChat wants a new one (refreshed once, then the call is made again). */
const TOKEN_REFUSED = new Set([40001, 40014, 42001]);
/**
 * The openid cannot be checked: invalid (40003), of another app (43104), or its user has not
 * opened the mini-program in the last two hours (61010). Nothing about the text: the engine
 * is skipped for it, logged (at error for the first two, which mean a misconfiguration).
 */
const OPENID_UNUSABLE: Record<number, { why: string; loud: boolean }> = {
  40003: { why: 'WeChat says the openid is invalid (40003)', loud: true },
  43104: { why: 'WeChat says the openid belongs to another app (43104)', loud: true },
  61010: { why: 'the user has not opened the mini-program in the last two hours (61010)', loud: false },
};

export interface WechatSecurityOptions {
  appId: string;
  apiBase: string;
  timeoutMs: number;
  tokens: WechatAccessTokens;
  budget: CallBudget;
}

/**
 * WeChat's text check, msgSecCheck v2 (`POST /wxa/msg_sec_check`), for users who logged in
 * with this mini-program (it needs their openid). `risky` blocks, with WeChat's label
 * (20001 politics, 20002 porn, ...); `review` and `pass` let the text through. At most 2,500
 * characters a call: longer texts are checked in pieces, every piece must pass.
 */
export class WechatContentCheck implements RemoteEngine {
  readonly name = 'wechat';
  readonly maxChars = 2_500;

  constructor(private readonly opts: WechatSecurityOptions) {}

  applies(author: ContentAuthor): boolean {
    return author.appId === this.opts.appId && author.openid.length > 0;
  }

  async check(text: string, ctx: CheckContext): Promise<Verdict> {
    for (const piece of pieces(text, this.maxChars)) {
      const verdict = await this.checkPiece(piece, ctx);
      if (verdict.action !== 'pass') return verdict;
    }
    return { action: 'pass' };
  }

  private async checkPiece(content: string, ctx: CheckContext, retried = false): Promise<Verdict> {
    if (!(await this.opts.budget.take())) throw new CheckerError(this.name, `msgSecCheck is over its ${MSG_SEC_CHECK_PER_MINUTE} calls a minute for this app`);
    const token = await this.opts.tokens.get();
    const answer = await this.call(token, content, ctx);
    const code = answer.errcode ?? 0;
    if (TOKEN_REFUSED.has(code) && !retried) {
      await this.opts.tokens.invalidate(token);
      return this.checkPiece(content, ctx, true);
    }
    if (OPENID_UNUSABLE[code]) return { action: 'skip', ...OPENID_UNUSABLE[code] };
    if (code === 45009) throw new CheckerError(this.name, 'msgSecCheck: WeChat says the app is over its call limit (45009)');
    if (code !== 0) throw new CheckerError(this.name, `msgSecCheck failed: errcode ${code} ${answer.errmsg ?? ''}`.trim());
    const suggest = answer.result?.suggest;
    if (suggest === 'risky') return { action: 'block', labels: [String(answer.result?.label ?? 'risky')] };
    if (suggest === 'pass' || suggest === 'review') return { action: 'pass' };
    throw new CheckerError(this.name, `msgSecCheck answered without a suggestion (trace_id ${answer.trace_id ?? 'none'})`);
  }

  private async call(token: string, content: string, ctx: CheckContext): Promise<MsgSecCheckAnswer> {
    const url = new URL('wxa/msg_sec_check', this.opts.apiBase.endsWith('/') ? this.opts.apiBase : `${this.opts.apiBase}/`);
    url.searchParams.set('access_token', token);
    // WeChat's scenes: 1 profile (the nickname), 2 comment (what users write), 3 forum (what the model writes to them).
    const scene = ctx.profile ? 1 : ctx.stage === 'INPUT' ? 2 : 3;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content, version: 2, scene, openid: ctx.author.openid }),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      return (await res.json()) as MsgSecCheckAnswer;
    } catch (err) {
      const e = err as Error;
      throw new CheckerError(this.name, `msgSecCheck did not answer (${e.name === 'TimeoutError' ? `no answer within ${this.opts.timeoutMs} ms` : e.name === 'SyntaxError' ? 'not JSON' : e.message})`);
    }
  }
}

/** A text in pieces of at most `max` characters (code points, as WeChat counts 字), never splitting a surrogate pair. */
export function pieces(text: string, max: number): string[] {
  const cps = Array.from(text);
  if (cps.length <= max) return [text];
  const out: string[] = [];
  for (let i = 0; i < cps.length; i += max) out.push(cps.slice(i, i + max).join(''));
  return out;
}
