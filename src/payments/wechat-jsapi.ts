import { randomBytes, sign, type KeyObject } from 'node:crypto';

/** What `wx.requestPayment` takes (mini-program JSAPI payments), field names as WeChat spells them. */
export interface WechatJsapiPayParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: 'RSA';
  paySign: string;
}

/**
 * Signs the mini-program's payment parameters the way WeChat Pay API v3 verifies them:
 * RSA-SHA256 with the merchant private key over `appId\ntimeStamp\nnonceStr\npackage\n`
 * (each line ends with \n, the last one too), base64. `package` is `prepay_id=<prepay_id>`.
 * The appId must be the one the JSAPI order was placed with, which is also the app whose
 * openid paid. The client never learns the key; it only passes these values on.
 */
export function jsapiPayParams(input: { appId: string; prepayId: string; privateKey: KeyObject; now: number }): WechatJsapiPayParams {
  const timeStamp = String(Math.floor(input.now / 1000));
  // 32 characters: WeChat's limit for nonceStr.
  const nonceStr = randomBytes(16).toString('hex');
  const pkg = `prepay_id=${input.prepayId}`;
  const message = `${input.appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`;
  const paySign = sign('sha256', Buffer.from(message, 'utf8'), input.privateKey).toString('base64');
  return { appId: input.appId, timeStamp, nonceStr, package: pkg, signType: 'RSA', paySign };
}
