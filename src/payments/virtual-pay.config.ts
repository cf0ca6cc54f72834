import { readFileSync } from 'node:fs';
import { DataCipher } from '../core/data-cipher';
import { pushAesKey } from './wechat-push';
import { parseVirtualProducts, type VirtualProduct } from './virtual-products';

/** The settings of virtual payment and the message push, as parseConfig hands them out. */
export interface VirtualPaySettings {
  virtualPay?: { appId: string; offerId: string; appKey: string; env: 0 | 1; products: VirtualProduct[] };
  wechatPush?: { token: string; aesKey: string };
  dataEncryptionKey?: Buffer;
}

export interface VirtualPayEnv {
  WECHAT_XPAY_OFFER_ID?: string;
  WECHAT_XPAY_APP_KEY?: string;
  WECHAT_XPAY_ENV: '0' | '1';
  WECHAT_XPAY_PRODUCTS?: string;
  WECHAT_PUSH_TOKEN?: string;
  WECHAT_PUSH_AES_KEY?: string;
  DATA_ENCRYPTION_KEY?: string;
}

/**
 * WECHAT_XPAY_* (all three of offer id, AppKey and products, or none), WECHAT_PUSH_* (both
 * or neither) and DATA_ENCRYPTION_KEY, checked with parseConfig's other settings. Virtual
 * payment signs with the login app's session keys, so it needs WECHAT_APP_ID, the push
 * (its only delivery report besides polling), and in production a real encryption key.
 */
export function virtualPaySettings(env: VirtualPayEnv, ctx: { loginAppId?: string; production: boolean }, problems: string[]): VirtualPaySettings {
  const out: VirtualPaySettings = {};
  if (env.DATA_ENCRYPTION_KEY !== undefined) {
    const key = DataCipher.parseKey(env.DATA_ENCRYPTION_KEY);
    if (key) out.dataEncryptionKey = key;
    else problems.push('DATA_ENCRYPTION_KEY: must be 32 bytes as 64 hex characters or base64');
  }
  if (!!env.WECHAT_PUSH_TOKEN !== !!env.WECHAT_PUSH_AES_KEY) problems.push('WECHAT_PUSH_TOKEN and WECHAT_PUSH_AES_KEY: set both or neither');
  else if (env.WECHAT_PUSH_TOKEN && env.WECHAT_PUSH_AES_KEY) {
    try {
      pushAesKey(env.WECHAT_PUSH_AES_KEY);
      out.wechatPush = { token: env.WECHAT_PUSH_TOKEN, aesKey: env.WECHAT_PUSH_AES_KEY };
    } catch {
      problems.push('WECHAT_PUSH_AES_KEY: must be the 43-character EncodingAESKey');
    }
  }
  const keys = ['WECHAT_XPAY_OFFER_ID', 'WECHAT_XPAY_APP_KEY', 'WECHAT_XPAY_PRODUCTS'] as const;
  const set = keys.filter((k) => env[k] !== undefined);
  if (set.length === 0) return out;
  if (set.length < keys.length) {
    problems.push(`WeChat virtual payment is partly configured; missing ${keys.filter((k) => env[k] === undefined).join(', ')}`);
    return out;
  }
  if (!ctx.loginAppId) problems.push('WECHAT_XPAY_*: virtual payment needs the mini-program login (WECHAT_APP_ID / WECHAT_APP_SECRET)');
  if (!out.wechatPush) problems.push('WECHAT_XPAY_*: virtual payment needs the message push (WECHAT_PUSH_TOKEN / WECHAT_PUSH_AES_KEY) to hear of payments');
  if (ctx.production && !out.dataEncryptionKey) problems.push('DATA_ENCRYPTION_KEY: required in production with virtual payment (it encrypts the stored session keys)');
  let text: string;
  try {
    text = readFileSync(env.WECHAT_XPAY_PRODUCTS!, 'utf8');
  } catch {
    problems.push(`WECHAT_XPAY_PRODUCTS: cannot read ${env.WECHAT_XPAY_PRODUCTS}`);
    return out;
  }
  const parsed = parseVirtualProducts(text);
  for (const p of parsed.problems) problems.push(`WECHAT_XPAY_PRODUCTS: ${p}`);
  if (ctx.loginAppId && !parsed.problems.length) {
    out.virtualPay = { appId: ctx.loginAppId, offerId: env.WECHAT_XPAY_OFFER_ID!, appKey: env.WECHAT_XPAY_APP_KEY!, env: env.WECHAT_XPAY_ENV === '1' ? 1 : 0, products: parsed.products };
  }
  return out;
}
