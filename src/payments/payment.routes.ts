import { CreateAlipayOrderDocument, CreateWechatPayOrderDocument, type PaymentMethod, PaymentStatusDocument } from '../rest/generated/graphql';
import { defineRoute } from '../rest/route';
import { nullableStr, str } from '../rest/schemas';

const num = { type: 'number' } as const;
const state = { type: 'string', enum: ['pending', 'success', 'failed'] } as const;
const orderBody = { type: 'object', required: ['amount', 'orderId'], properties: { amount: num, orderId: str } };
const orderData = (url: 'codeUrl' | 'payUrl') => ({ type: 'object', properties: { orderId: str, amount: num, [url]: nullableStr, status: state, expiresAt: str } });
const lower = (s: string) => s.toLowerCase() as 'pending' | 'success' | 'failed';

/** The older payment service's routes; states are lowercase, as its clients expect. */
export const PAYMENT_ROUTES = [
  defineRoute({
    method: 'POST',
    path: '/v1/pay/wechat',
    summary: 'Create a WeChat Pay Native order (show codeUrl as a QR code)',
    operation: CreateWechatPayOrderDocument,
    schema: { body: orderBody, data: orderData('codeUrl') },
    toVariables: ({ body }) => ({ input: body as { amount: number; orderId: string } }),
    toData: ({ createWechatPayOrder: o }) => ({ ...o, status: lower(o.status) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/pay/alipay',
    summary: 'Create an Alipay order (open payUrl in a browser)',
    operation: CreateAlipayOrderDocument,
    schema: { body: orderBody, data: orderData('payUrl') },
    toVariables: ({ body }) => ({ input: body as { amount: number; orderId: string } }),
    toData: ({ createAlipayOrder: o }) => ({ ...o, status: lower(o.status) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/pay/status',
    summary: 'Payment status of one of your orders',
    operation: PaymentStatusDocument,
    schema: {
      querystring: { type: 'object', required: ['orderId', 'paymentMethod'], properties: { orderId: str, paymentMethod: { type: 'string', enum: ['wechat', 'alipay'] } } },
      data: { type: 'object', properties: { orderId: str, status: state, paidAmount: num, paidTime: nullableStr } },
    },
    toVariables: ({ query }) => ({
      orderId: query.orderId as string,
      paymentMethod: (query.paymentMethod === 'wechat' ? 'WECHAT' : 'ALIPAY') as PaymentMethod,
    }),
    toData: ({ paymentStatus: s }) => ({ ...s, status: lower(s.status) }),
  }),
];
