import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { scriptedDelays } from './http-fake';
import { FAKE_WECHAT_APP_ID, FAKE_WECHAT_SECRET } from './wechat';

export interface FakeSecCheck {
  token: string;
  version: unknown;
  scene: unknown;
  openid: unknown;
  content: string;
}

/**
 * Fakes of WeChat's `POST /cgi-bin/stable_token` and `POST /wxa/msg_sec_check` (v2), answering
 * as the documentation says: JSON (text/plain, as WeChat sends it), `errcode`/`errmsg` on
 * failure. stable_token in normal mode hands out the current token while it is valid (the
 * same one to every caller) and a new one once it is not. msg_sec_check checks the token
 * (40001), the method (43302), version 2, the scene (40129: 1 to 4), the openid (44002 when
 * missing, 40003 for one the test marks invalid, 61010 for a user not seen in two hours) and
 * the content (44002 when empty; 47001 past 2,500 characters, where this fake is strict), then
 * answers `result {suggest, label}` and `detail` per strategy, with a `trace_id`.
 * Mount it on the login fake: `startFakeWechat({ extra: security.handle })`.
 */
export function fakeWechatSecurity(opts: { appId?: string; secret?: string } = {}) {
  const appId = opts.appId ?? FAKE_WECHAT_APP_ID;
  const secret = opts.secret ?? FAKE_WECHAT_SECRET;
  const delays = scriptedDelays();
  const send = (res: ServerResponse, body: object) => void res.writeHead(200, { 'content-type': 'text/plain' }).end(JSON.stringify(body));
  const traceId = () => `${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;

  const state = {
    /** Every stable_token request body. */
    tokenCalls: [] as Array<Record<string, unknown>>,
    /** Every msg_sec_check request that got past the token check. */
    checks: [] as FakeSecCheck[],
    /** A text holding one of these is risky, with this label (20001 politics, 20002 porn, 20006 crime...). */
    risky: new Map<string, number>(),
    /** A text holding one of these gets suggest review. */
    review: new Set<string>(),
    invalidOpenids: new Set<string>(),
    inactiveOpenids: new Set<string>(),
    /** errcodes for the next checks, one consumed per check (-1 busy, 45009 over the limit...). */
    nextErrcodes: [] as number[],
    /** 'down': msg_sec_check answers 502 with an HTML page; 'hang': it never answers. */
    mode: 'ok' as 'ok' | 'down' | 'hang',
    /** How long stable_token takes to answer (so that concurrent callers overlap). */
    tokenDelayMs: 0,
    current: null as { token: string; expiresAt: number } | null,
    /** WeChat forgets the current token (as when another system force-refreshes): checks with it get 40001. */
    revokeToken() {
      state.current = null;
    },
    /** Answers the two endpoints; false for any other path. */
    handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): boolean {
      const url = new URL(req.url ?? '/', 'http://fake');
      if (url.pathname === '/cgi-bin/stable_token') {
        void stableToken(req, res, raw);
        return true;
      }
      if (url.pathname === '/wxa/msg_sec_check') {
        msgSecCheck(req, res, raw, url);
        return true;
      }
      return false;
    },
    close: () => delays.clear(),
  };

  async function stableToken(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    if (req.method !== 'POST') return send(res, { errcode: 43002, errmsg: 'require POST method' });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return send(res, { errcode: 47001, errmsg: 'data format error' });
    }
    state.tokenCalls.push(body);
    if (state.tokenDelayMs) await delays.sleep(state.tokenDelayMs);
    if (body.grant_type !== 'client_credential') return send(res, { errcode: 40002, errmsg: 'invalid grant_type' });
    if (body.appid !== appId) return send(res, { errcode: 40013, errmsg: 'invalid appid' });
    if (body.secret !== secret) return send(res, { errcode: 40125, errmsg: 'invalid appsecret' });
    if (!state.current || state.current.expiresAt <= Date.now() || body.force_refresh === true) {
      state.current = { token: `tok-${randomBytes(12).toString('hex')}`, expiresAt: Date.now() + 7_200_000 };
    }
    send(res, { access_token: state.current.token, expires_in: Math.round((state.current.expiresAt - Date.now()) / 1000) });
  }

  function msgSecCheck(req: IncomingMessage, res: ServerResponse, raw: Buffer, url: URL) {
    const token = url.searchParams.get('access_token') ?? '';
    if (!state.current || token !== state.current.token) return send(res, { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' });
    if (req.method !== 'POST') return send(res, { errcode: 43302, errmsg: 'http method not allowed' });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return send(res, { errcode: 47001, errmsg: 'data format error' });
    }
    const content = typeof body.content === 'string' ? body.content : '';
    state.checks.push({ token, version: body.version, scene: body.scene, openid: body.openid, content });
    if (state.mode === 'hang') return;
    if (state.mode === 'down') return void res.writeHead(502, { 'content-type': 'text/html' }).end('<html>502 Bad Gateway</html>');
    const errcode = state.nextErrcodes.shift();
    if (errcode !== undefined) return send(res, { errcode, errmsg: `error ${errcode}` });
    if (body.version !== 2) return send(res, { errcode: 47001, errmsg: 'data format error' });
    if (![1, 2, 3, 4].includes(body.scene as number)) return send(res, { errcode: 40129, errmsg: 'invalid scene' });
    if (typeof body.openid !== 'string' || !body.openid) return send(res, { errcode: 44002, errmsg: 'empty post data' });
    if (state.invalidOpenids.has(body.openid)) return send(res, { errcode: 40003, errmsg: 'invalid openid' });
    if (state.inactiveOpenids.has(body.openid)) return send(res, { errcode: 61010, errmsg: 'user access record expired' });
    if (!content) return send(res, { errcode: 44002, errmsg: 'empty post data' });
    if (Array.from(content).length > 2500) return send(res, { errcode: 47001, errmsg: 'data format error: content over 2500' });
    const riskyWord = [...state.risky.keys()].find((w) => content.includes(w));
    const reviewWord = [...state.review].find((w) => content.includes(w));
    const result = riskyWord ? { suggest: 'risky', label: state.risky.get(riskyWord)! } : reviewWord ? { suggest: 'review', label: 21000 } : { suggest: 'pass', label: 100 };
    send(res, {
      errcode: 0,
      errmsg: 'ok',
      result,
      detail: [
        { strategy: 'content_model', errcode: 0, suggest: result.suggest, label: result.label, prob: riskyWord ? 90 : 0 },
        { strategy: 'keyword', errcode: 0, ...(riskyWord ? { suggest: 'risky', label: result.label, level: 20, keyword: riskyWord } : {}) },
      ],
      trace_id: traceId(),
    });
  }

  return state;
}

export type FakeWechatSecurity = ReturnType<typeof fakeWechatSecurity>;
