import { createHash } from 'node:crypto';
import { BadRequestError, ForbiddenError, RateLimitedError, UpstreamError } from '../core/errors';

/** Who WeChat says the code belongs to. */
export interface WechatIdentity {
  appId: string;
  openid: string;
  unionid?: string;
}

/** An exchange's answer: the identity and the `session_key` (a secret: AuthService splits it off at once, to be stored only encrypted). */
export type WechatSession = WechatIdentity & { sessionKey?: string };

export interface WechatLogin {
  /** True when codes are not checked with WeChat (development without credentials). */
  readonly local: boolean;
  /** Exchanges a `wx.login` code. Throws AppErrors mapped from WeChat's errcodes. */
  exchange(code: string): Promise<WechatSession>;
}

interface Code2SessionAnswer {
  openid?: string;
  unionid?: string;
  session_key?: string;
  errcode?: number;
  errmsg?: string;
}

/** `GET /sns/jscode2session` (mini-program login). */
export class WechatLoginClient implements WechatLogin {
  readonly local = false;

  constructor(private readonly opts: { appId: string; appSecret: string; apiBase: string; timeoutMs: number }) {}

  async exchange(code: string): Promise<WechatSession> {
    const url = new URL('sns/jscode2session', this.opts.apiBase.endsWith('/') ? this.opts.apiBase : `${this.opts.apiBase}/`);
    url.search = new URLSearchParams({ appid: this.opts.appId, secret: this.opts.appSecret, js_code: code, grant_type: 'authorization_code' }).toString();
    let text: string;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.opts.timeoutMs) });
      text = await res.text();
    } catch {
      throw new UpstreamError('WeChat login did not answer in time', { reason: 'WECHAT_UNAVAILABLE' });
    }
    let answer: Code2SessionAnswer;
    try {
      answer = JSON.parse(text) as Code2SessionAnswer;
    } catch {
      throw new UpstreamError('WeChat login answered with something other than JSON', { reason: 'WECHAT_BAD_ANSWER' });
    }
    if (answer.errcode) throw mapWechatError(answer.errcode);
    if (!answer.openid) throw new UpstreamError('WeChat login answered without an openid', { reason: 'WECHAT_BAD_ANSWER' });
    return { appId: this.opts.appId, openid: answer.openid, ...(answer.unionid ? { unionid: answer.unionid } : {}), ...(answer.session_key ? { sessionKey: answer.session_key } : {}) };
  }
}

function mapWechatError(errcode: number) {
  switch (errcode) {
    case 40029:
      return new BadRequestError('The login code is invalid', { field: 'code', reason: 'INVALID_CODE' });
    case 40163:
      return new BadRequestError('The login code has already been used', { field: 'code', reason: 'CODE_USED' });
    case 45011:
      return new RateLimitedError(60, 'WeChat is limiting login attempts; try again in a minute');
    case 40226:
      return new ForbiddenError('WeChat has blocked this account from logging in', { reason: 'WECHAT_RISKY_USER' });
    case -1:
      return new UpstreamError('WeChat login failed', { reason: 'WECHAT_-1' });
    default:
      return new UpstreamError(`WeChat login failed (errcode ${errcode})`, { reason: 'WECHAT_REFUSED' });
  }
}

/**
 * Development without WeChat credentials: any code logs in, and the same code always gives
 * the same user (the openid is derived from it), so the API can be tried offline.
 */
export class LocalWechatLogin implements WechatLogin {
  readonly local = true;

  async exchange(code: string): Promise<WechatIdentity> {
    return { appId: 'local', openid: `local_${createHash('sha256').update(code).digest('hex').slice(0, 28)}` };
  }
}
