import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeXpay } from '../../test/fakes/wechat-xpay';
import { DataCipher } from '../core/data-cipher';
import { virtualPaySettings } from './virtual-pay.config';
import { parseVirtualProducts } from './virtual-products';
import { decryptPush, PushDecryptError, pushAesKey, verifyPushMessage } from './wechat-push';

const AES = randomBytes(32).toString('base64').slice(0, 43);
const xpay = fakeXpay({ appId: 'wxapp', appKey: 'k', pushToken: 'tok', aesKey: AES });
const envelope = (message: object, o?: { appId?: string }) => {
  const p = xpay.push(message, o);
  return { q: Object.fromEntries(new URLSearchParams(p.query)), encrypt: (JSON.parse(p.body) as { Encrypt: string }).Encrypt };
};

describe('safe-mode pushes', () => {
  it.each([1, 12, 31, 32, 33, 500])('decrypts a message of %i bytes (32-byte PKCS#7 blocks) and verifies msg_signature', (n) => {
    const msg = { a: 'x'.repeat(n) };
    const { q, encrypt } = envelope(msg);
    expect(verifyPushMessage('tok', q, encrypt)).toBe(true);
    expect(JSON.parse(decryptPush(pushAesKey(AES), encrypt, 'wxapp'))).toEqual(msg);
  });

  it('refuses another appid, another key and a changed ciphertext', () => {
    const other = envelope({ a: 1 }, { appId: 'wxother' });
    expect(() => decryptPush(pushAesKey(AES), other.encrypt, 'wxapp')).toThrow(PushDecryptError);
    const { q, encrypt } = envelope({ a: 1 });
    expect(() => decryptPush(pushAesKey(randomBytes(32).toString('base64').slice(0, 43)), encrypt, 'wxapp')).toThrow(PushDecryptError);
    expect(verifyPushMessage('tok', q, `A${encrypt.slice(1)}`)).toBe(false);
    expect(verifyPushMessage('other', q, encrypt)).toBe(false);
  });

  it('takes only a 43-character EncodingAESKey', () => {
    expect(() => pushAesKey('short')).toThrow(RangeError);
  });
});

describe('DataCipher', () => {
  it('round-trips, never stores the plain text, and refuses another key or a changed text', () => {
    const key = randomBytes(32);
    const c = new DataCipher(key);
    const stored = c.encrypt('session-key==');
    expect(stored).not.toContain('session-key');
    expect(c.decrypt(stored)).toBe('session-key==');
    expect(new DataCipher(randomBytes(32)).decrypt(stored)).toBeNull();
    expect(c.decrypt(`${stored.slice(0, -2)}AA`)).toBeNull();
    expect(DataCipher.parseKey(key.toString('hex'))).toEqual(key);
    expect(DataCipher.parseKey(key.toString('base64'))).toEqual(key);
    expect(DataCipher.parseKey('too-short')).toBeNull();
  });
});

describe('WECHAT_XPAY_PRODUCTS', () => {
  it('parses price in yuan to fen and refuses bad files strictly', () => {
    expect(parseVirtualProducts('[{"id":"a","name":"A","price":6.5,"credits":700}]')).toEqual({ products: [{ id: 'a', name: 'A', price: 650, credits: 700 }], problems: [] });
    expect(parseVirtualProducts('{}').problems).toHaveLength(1);
    expect(parseVirtualProducts('nope').problems).toHaveLength(1);
    const bad = parseVirtualProducts('[{"id":"a","name":"A","price":0.001,"credits":1},{"id":"a","name":"B","price":1,"credits":1},{"id":"b","name":"B","price":1,"credits":1.5,"x":1}]');
    expect(bad.products).toEqual([]);
    expect(bad.problems).toHaveLength(4);
  });
});

describe('virtual payment settings', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'xpay-')), 'p.json');
  writeFileSync(file, '[{"id":"a","name":"A","price":1,"credits":100}]');
  const full = { WECHAT_XPAY_OFFER_ID: 'o', WECHAT_XPAY_APP_KEY: 'k', WECHAT_XPAY_ENV: '1' as const, WECHAT_XPAY_PRODUCTS: file, WECHAT_PUSH_TOKEN: 't', WECHAT_PUSH_AES_KEY: AES };

  it('is complete with the login, the push and (in production) the encryption key', () => {
    const problems: string[] = [];
    const s = virtualPaySettings({ ...full, DATA_ENCRYPTION_KEY: randomBytes(32).toString('hex') }, { loginAppId: 'wxapp', production: true }, problems);
    expect(problems).toEqual([]);
    expect(s.virtualPay).toMatchObject({ appId: 'wxapp', env: 1, products: [{ id: 'a', price: 100, credits: 100 }] });
  });

  it('lists every problem: partial settings, no login, no key in production, a bad key', () => {
    const problems: string[] = [];
    virtualPaySettings({ ...full, WECHAT_PUSH_AES_KEY: undefined, DATA_ENCRYPTION_KEY: 'nope' }, { production: true }, problems);
    expect(problems.map((p) => p.split(':')[0])).toEqual(['DATA_ENCRYPTION_KEY', 'WECHAT_PUSH_TOKEN and WECHAT_PUSH_AES_KEY', 'WECHAT_XPAY_*', 'WECHAT_XPAY_*', 'DATA_ENCRYPTION_KEY']);
    const partial: string[] = [];
    virtualPaySettings({ WECHAT_XPAY_ENV: '0', WECHAT_XPAY_OFFER_ID: 'o' }, { loginAppId: 'wxapp', production: false }, partial);
    expect(partial).toEqual(['WeChat virtual payment is partly configured; missing WECHAT_XPAY_APP_KEY, WECHAT_XPAY_PRODUCTS']);
  });
});
