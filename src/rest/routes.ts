import type { RestRoute } from './route';
import { ACCOUNT_ROUTES } from '../accounts/account.routes';
import { AI_ROUTES } from '../replies/reply.routes';
import { CHAT_ROUTES } from '../chats/chat.routes';
import { PAYMENT_ROUTES } from '../payments/payment.routes';
import { SPEAK_ROUTES } from '../speech/speak.routes';

/** The `/v1` compatibility layer: one GraphQL operation per route. */
export const REST_ROUTES: readonly RestRoute[] = [...ACCOUNT_ROUTES, ...CHAT_ROUTES, ...AI_ROUTES, ...SPEAK_ROUTES, ...PAYMENT_ROUTES];
