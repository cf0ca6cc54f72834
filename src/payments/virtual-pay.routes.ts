import { CreateVirtualPayOrderDocument, VirtualProductsDocument } from '../rest/generated/graphql';
import { defineRoute } from '../rest/route';
import { int, str } from '../rest/schemas';

const num = { type: 'number' } as const;

/** Virtual payment for the mini-program (wx.requestVirtualPayment); states lowercase like the other /v1/pay routes. */
export const VIRTUAL_PAY_ROUTES = [
  defineRoute({
    method: 'GET',
    path: '/v1/pay/virtual-products',
    summary: 'What can be bought with WeChat virtual payment (price in yuan, credits in fen)',
    operation: VirtualProductsDocument,
    public: true,
    schema: { data: { type: 'array', items: { type: 'object', properties: { id: str, name: str, price: num, credits: int } } } },
    toData: (data) => data.virtualProducts,
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/pay/wechat-virtual',
    summary: 'Create a WeChat virtual payment order: pass mode, signData, paySig and signature to wx.requestVirtualPayment',
    operation: CreateVirtualPayOrderDocument,
    schema: {
      body: { type: 'object', required: ['productId', 'orderId'], properties: { productId: str, orderId: str } },
      data: { type: 'object', properties: { orderId: str, amount: num, status: str, expiresAt: str, mode: str, signData: str, paySig: str, signature: str } },
    },
    toVariables: ({ body }) => {
      const b = body as { productId: string; orderId: string };
      return { input: { productId: b.productId, orderId: b.orderId } };
    },
    toData: ({ createVirtualPayOrder: v }) => ({ ...v.order, status: v.order.status.toLowerCase(), mode: v.mode, signData: v.signData, paySig: v.paySig, signature: v.signature }),
  }),
];
