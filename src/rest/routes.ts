import type { RestRoute } from './route';
import { ACCOUNT_ROUTES } from '../accounts/account.routes';
import { AI_ROUTES } from '../replies/reply.routes';
import { VERSION_ROUTES } from '../replies/versions.routes';
import { CHAT_ROUTES } from '../chats/chat.routes';
import { CHAT_IMPORT_ROUTES } from '../chats/chat-import.routes';
import { PAYMENT_ROUTES } from '../payments/payment.routes';
import { VIRTUAL_PAY_ROUTES } from '../payments/virtual-pay.routes';
import { SPEAK_ROUTES } from '../speech/speak.routes';
import { REDEEM_ROUTES } from '../admin/redeem.routes';

/** The `/v1` compatibility layer: one GraphQL operation per route. */
export const REST_ROUTES: readonly RestRoute[] = [...ACCOUNT_ROUTES, ...CHAT_ROUTES, ...CHAT_IMPORT_ROUTES, ...AI_ROUTES, ...VERSION_ROUTES, ...SPEAK_ROUTES, ...PAYMENT_ROUTES, ...VIRTUAL_PAY_ROUTES, ...REDEEM_ROUTES];
