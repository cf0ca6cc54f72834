import { RedeemCodeDocument } from '../rest/generated/graphql';
import { defineRoute } from '../rest/route';
import { int, str } from '../rest/schemas';

/** Users redeem codes over REST too; the admin operations are GraphQL only. */
export const REDEEM_ROUTES = [
  defineRoute({
    method: 'POST',
    path: '/v1/user/redeem',
    summary: 'Credits a redeem code to your balance, once; body {"code": "XXXX-XXXX-XXXX-XXXX-XXXX-XX"}. Unknown, used and expired codes alike: INVALID_CODE',
    operation: RedeemCodeDocument,
    schema: {
      body: { type: 'object', required: ['code'], properties: { code: str } },
      data: { type: 'object', properties: { id: str, balance: int } },
    },
    toVariables: ({ body }) => ({ code: (body as { code: string }).code }),
    toData: (data) => data.redeemCode,
  }),
];
