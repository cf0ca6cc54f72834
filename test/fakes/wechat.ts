import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenFake } from './http-fake';

export const FAKE_WECHAT_APP_ID = 'wxfake0123456789';
export const FAKE_WECHAT_SECRET = 'fake-app-secret-0123456789abcdef';

interface CodeBehaviour {
  openid?: string;
  unionid?: string;
  errcode?: number;
  /** 'hang': never answer; 'html': answer a non-JSON page. */
  mode?: 'hang' | 'html';
}

/**
 * A fake of WeChat's `GET /sns/jscode2session`, answering like the real one: JSON with a
 * text/plain content type, `session_key` on success, `errcode`/`errmsg` on failure, codes
 * single-use (40163 on reuse, 40029 when unknown), 40125 for a wrong app secret.
 * `extra` answers other paths on the same host (e.g. fakeWechatSecurity's endpoints).
 */
export async function startFakeWechat(opts: { extra?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean } = {}) {
  const codes = new Map<string, CodeBehaviour>();
  const used = new Set<string>();
  const calls: Array<Record<string, string>> = [];
  const sessionKeys: string[] = [];

  const fake = await listenFake((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const send = (body: object) => void res.writeHead(200, { 'content-type': 'text/plain' }).end(JSON.stringify(body));
    if (url.pathname !== '/sns/jscode2session') return void (opts.extra?.(req, res, body) || res.writeHead(404).end());
    const q = Object.fromEntries(url.searchParams);
    calls.push(q);
    if (q.appid !== FAKE_WECHAT_APP_ID || q.secret !== FAKE_WECHAT_SECRET || q.grant_type !== 'authorization_code') {
      return send({ errcode: 40125, errmsg: 'invalid appsecret, rid: fake' });
    }
    const code = q.js_code;
    const behaviour = codes.get(code);
    if (!behaviour) return send({ errcode: 40029, errmsg: 'invalid code, rid: fake' });
    if (behaviour.mode === 'hang') return; // never answers
    if (behaviour.mode === 'html') return void res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
    if (behaviour.errcode) return send({ errcode: behaviour.errcode, errmsg: `error ${behaviour.errcode}, rid: fake` });
    if (used.has(code)) return send({ errcode: 40163, errmsg: 'code been used, rid: fake' });
    used.add(code);
    const sessionKey = randomBytes(16).toString('base64');
    sessionKeys.push(sessionKey);
    send({ openid: behaviour.openid, session_key: sessionKey, ...(behaviour.unionid ? { unionid: behaviour.unionid } : {}) });
  });

  let n = 0;
  return {
    ...fake,
    calls,
    /** Every session_key handed out, to check none of them leaks. */
    sessionKeys,
    /** A fresh single-use code for this openid (and unionid). */
    code(openid: string, unionid?: string): string {
      const code = `code-${++n}-${randomBytes(4).toString('hex')}`;
      codes.set(code, { openid, unionid });
      return code;
    },
    /** A code that always answers with this errcode, or misbehaves. */
    failingCode(behaviour: Omit<CodeBehaviour, 'openid' | 'unionid'>): string {
      const code = `bad-${++n}`;
      codes.set(code, behaviour);
      return code;
    },
    env(): Record<string, string> {
      return { WECHAT_APP_ID: FAKE_WECHAT_APP_ID, WECHAT_APP_SECRET: FAKE_WECHAT_SECRET, WECHAT_API_BASE: fake.url };
    },
  };
}
