import type { RestRoute } from '../route';
import { ACCOUNT_ROUTES } from './account.routes';
import { AI_ROUTES } from './ai.routes';
import { CHAT_ROUTES } from './chat.routes';
import { PAYMENT_ROUTES } from './payment.routes';

/** The `/v1` compatibility layer (contract §2): one GraphQL operation per route. */
export const REST_ROUTES: readonly RestRoute[] = [...ACCOUNT_ROUTES, ...CHAT_ROUTES, ...AI_ROUTES, ...PAYMENT_ROUTES];
