import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * WeChat's side of mini-program virtual payment, for startFakeWechat's `extra`:
 * `POST /cgi-bin/stable_token` and `POST /xpay/query_order` (which checks access_token and
 * pay_sig = hex HMAC-SHA256 with the AppKey over `uri&body`, as WeChat does), and safe-mode
 * message pushes encrypted and signed as WeChat makes them.
 */
export function fakeXpay(opts: { appId: string; appKey: string; pushToken: string; aesKey: string }) {
  const accessToken = `fake-token-${randomBytes(6).toString('hex')}`;
  /** Orders WeChat knows of, by out_trade_no: the answer's `order` object. */
  const orders = new Map<string, Record<string, unknown>>();
  const queries: Array<{ body: Record<string, unknown>; paySigValid: boolean }> = [];

  const extra = (req: IncomingMessage, res: ServerResponse, body: Buffer): boolean => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const send = (o: object) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
    if (url.pathname === '/cgi-bin/stable_token') {
      send({ access_token: accessToken, expires_in: 7200 });
      return true;
    }
    if (url.pathname === '/xpay/query_order') {
      const text = body.toString('utf8');
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const expected = createHmac('sha256', opts.appKey).update(`/xpay/query_order&${text}`).digest('hex');
      const paySigValid = url.searchParams.get('pay_sig') === expected;
      queries.push({ body: parsed, paySigValid });
      const order = orders.get(String(parsed.order_id));
      if (url.searchParams.get('access_token') !== accessToken) send({ errcode: 40001, errmsg: 'invalid credential' });
      else if (!paySigValid) send({ errcode: -15001, errmsg: 'signature error' });
      else send(order ? { errcode: 0, errmsg: 'ok', order } : { errcode: 268490004, errmsg: 'order not exist' });
      return true;
    }
    return false;
  };

  /** A push as WeChat sends it in safe mode: the query string and the JSON body. */
  function push(message: object, o: { appId?: string; token?: string } = {}): { query: string; body: string } {
    const key = Buffer.from(`${opts.aesKey}=`, 'base64');
    const msg = Buffer.from(JSON.stringify(message), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(msg.length);
    const plain = Buffer.concat([randomBytes(16), len, msg, Buffer.from(o.appId ?? opts.appId, 'utf8')]);
    const pad = 32 - (plain.length % 32);
    const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
    cipher.setAutoPadding(false);
    const encrypted = Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(5).toString('hex');
    const msgSignature = createHash('sha1').update([o.token ?? opts.pushToken, timestamp, nonce, encrypted].sort().join('')).digest('hex');
    const query = new URLSearchParams({ signature: 'unused-in-safe-mode', timestamp, nonce, openid: 'o', encrypt_type: 'aes', msg_signature: msgSignature }).toString();
    return { query, body: JSON.stringify({ ToUserName: 'gh_fake', Encrypt: encrypted }) };
  }

  /** The URL check's query: signature = sha1(sort(token, timestamp, nonce)). */
  function urlCheck(echostr: string, token = opts.pushToken): string {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(5).toString('hex');
    const signature = createHash('sha1').update([token, timestamp, nonce].sort().join('')).digest('hex');
    return new URLSearchParams({ signature, timestamp, nonce, echostr }).toString();
  }

  return { extra, orders, queries, push, urlCheck };
}
