import { createHmac } from 'node:crypto';

/**
 * The signatures of WeChat's mini-program virtual payment (`wx.requestVirtualPayment`,
 * "小程序虚拟支付"), all hex HMAC-SHA256:
 * - paySig: key AppKey, over `requestVirtualPayment&` + signData (proves the server made the order);
 * - signature: key the user's session_key, over signData (proves it is this user's login session);
 * - the server API's pay_sig: key AppKey, over the URI path + `&` + the exact request body.
 */

/** The fields of `signData`, in WeChat's names; goodsPrice is fen. */
export interface VirtualSignData {
  offerId: string;
  buyQuantity: number;
  env: 0 | 1;
  currencyType: 'CNY';
  productId: string;
  goodsPrice: number;
  outTradeNo: string;
  attach: string;
}

const hmac = (key: string, text: string) => createHmac('sha256', key).update(text, 'utf8').digest('hex');

/** The exact string the client passes as signData: the signatures are over these bytes. */
export const signDataString = (d: VirtualSignData): string =>
  JSON.stringify({ offerId: d.offerId, buyQuantity: d.buyQuantity, env: d.env, currencyType: d.currencyType, productId: d.productId, goodsPrice: d.goodsPrice, outTradeNo: d.outTradeNo, attach: d.attach });

export const virtualPaySig = (appKey: string, signData: string) => hmac(appKey, `requestVirtualPayment&${signData}`);

export const userSignature = (sessionKey: string, signData: string) => hmac(sessionKey, signData);

/** pay_sig of a server API call, e.g. uri `/xpay/query_order`. */
export const xpayApiPaySig = (appKey: string, uri: string, body: string) => hmac(appKey, `${uri}&${body}`);
