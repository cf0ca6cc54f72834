import { BadRequestError } from '../core/errors';
import type { PaymentScene } from '../db/entities/payment-order.entity';
import type { PaymentProvider } from './providers';

export const PAYMENT_SCENES: readonly PaymentScene[] = ['DESKTOP_WEB', 'MOBILE_WEB', 'MINI_PROGRAM'];

/** SCENE_NOT_SUPPORTED unless the provider, as configured, can pay in `scene`. */
export function checkScene(provider: PaymentProvider, scene: PaymentScene): void {
  if (provider.scenes.includes(scene)) return;
  const why =
    provider.method === 'ALIPAY' ? 'Alipay cannot pay inside the mini-program; use DESKTOP_WEB or MOBILE_WEB' : 'WeChat Pay H5 (MOBILE_WEB) is not enabled on this server; use DESKTOP_WEB or MINI_PROGRAM';
  throw new BadRequestError(why, { field: 'scene', reason: 'SCENE_NOT_SUPPORTED' });
}

/**
 * The openid a JSAPI order is paid with. WeChat Pay only accepts an openid of the appid the
 * order is placed with, so the user must have logged in through that very mini-program:
 * development logins (appId 'local') and users of another app have no usable openid.
 */
export function miniProgramOpenid(user: { appId: string; openid: string }, payAppId: string): string {
  if (user.appId !== payAppId || !user.openid) {
    throw new BadRequestError('Paying in the mini-program needs a login through this mini-program (wx.login)', { field: 'scene', reason: 'OPENID_REQUIRED' });
  }
  return user.openid;
}
