import { CreateAlipayOrderDocument, CreateWechatPayOrderDocument, type PaymentMethod, type PaymentScene, type PaymentState, PaymentStatusDocument } from '../rest/generated/graphql';
import { defineRoute } from '../rest/route';
import { nullableStr, str } from '../rest/schemas';

const num = { type: 'number' } as const;
const state = { type: 'string', enum: ['pending', 'success', 'failed', 'partially_refunded', 'refunded'] } as const;
const scenes = ['desktop_web', 'mobile_web', 'mini_program'] as const;
const orderBody = {
  type: 'object',
  required: ['amount', 'orderId'],
  properties: { amount: num, orderId: str, scene: { type: 'string', enum: scenes, default: 'desktop_web', description: 'desktop_web: QR code / page pay; mobile_web: phone browser (WeChat H5, Alipay wap); mini_program: WeChat JSAPI' } },
};
const jsapiParams = {
  type: 'object',
  description: 'mini_program: pass to wx.requestPayment as they are',
  properties: { appId: str, timeStamp: str, nonceStr: str, package: str, signType: str, paySign: str },
};
const orderData = (urls: Record<string, object>) => ({ type: 'object', properties: { orderId: str, amount: num, ...urls, status: state, expiresAt: str } });
const lower = (s: PaymentState) => s.toLowerCase() as Lowercase<PaymentState>;
type OrderBody = { amount: number; orderId: string; scene?: (typeof scenes)[number] };
const orderInput = (body: unknown) => {
  const { scene, ...rest } = body as OrderBody;
  return { ...rest, scene: (scene ?? 'desktop_web').toUpperCase() as PaymentScene };
};
/** Scene-specific fields only when set, as the older clients expect no nulls they do not know. */
const withoutNulls = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== null || k === 'codeUrl' || k === 'payUrl'));

/** The older payment service's routes; states are lowercase, as its clients expect. */
export const PAYMENT_ROUTES = [
  defineRoute({
    method: 'POST',
    path: '/v1/pay/wechat',
    summary: 'Create a WeChat Pay order (desktop_web: show codeUrl as a QR code; mobile_web: open h5Url; mini_program: jsapiParams for wx.requestPayment)',
    operation: CreateWechatPayOrderDocument,
    schema: { body: orderBody, data: orderData({ codeUrl: nullableStr, h5Url: str, jsapiParams }) },
    toVariables: ({ body }) => ({ input: orderInput(body) }),
    toData: ({ createWechatPayOrder: o }) => withoutNulls({ ...o, status: lower(o.status) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/pay/alipay',
    summary: 'Create an Alipay order (open payUrl in a browser: page pay on desktop_web, wap pay on mobile_web)',
    operation: CreateAlipayOrderDocument,
    schema: { body: orderBody, data: orderData({ payUrl: nullableStr }) },
    toVariables: ({ body }) => ({ input: orderInput(body) }),
    toData: ({ createAlipayOrder: o }) => ({ ...o, status: lower(o.status) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/pay/status',
    summary: 'Payment status of one of your orders',
    operation: PaymentStatusDocument,
    schema: {
      querystring: { type: 'object', required: ['orderId', 'paymentMethod'], properties: { orderId: str, paymentMethod: { type: 'string', enum: ['wechat', 'alipay', 'wechat_virtual'] } } },
      data: { type: 'object', properties: { orderId: str, status: state, paidAmount: num, paidTime: nullableStr } },
    },
    toVariables: ({ query }) => ({
      orderId: query.orderId as string,
      paymentMethod: String(query.paymentMethod).toUpperCase() as PaymentMethod,
    }),
    toData: ({ paymentStatus: s }) => ({ ...s, status: lower(s.status) }),
  }),
];
