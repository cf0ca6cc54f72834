import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema } from 'type-graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { ApiKeyResolver } from '../accounts/api-key.resolver';
import { AuthResolver } from '../accounts/auth.resolver';
import { ChatConnectionResolver } from '../chats/chat-connection.resolver';
import { ChatResolver } from '../chats/chat.resolver';
import { ChatImportResolver } from '../chats/chat-import.resolver';
import { MessageResolver } from '../chats/message.resolver';
import { PaymentResolver } from '../payments/payment.resolver';
import { VirtualPayResolver } from '../payments/virtual-pay.resolver';
import { ReconciliationResolver } from '../payments/reconciliation.resolver';
import { ReplyResolver } from '../replies/reply.resolver';
import { SpeechResolver } from '../speech/speech.resolver';
import { SpeakResolver } from '../speech/speak.resolver';
import { ModelResolver } from '../models/model.resolver';
import { UserResolver } from '../accounts/user.resolver';
import { UsageResolver } from '../usage/usage.resolver';
import { AdminOrderFieldsResolver, AdminResolver, AdminUserFieldsResolver } from '../admin/admin.resolver';
import { RedeemResolver } from '../admin/redeem.resolver';
import { authChecker } from './auth-checker';
import { guardRootFields } from './operation-checks';

export const RESOLVERS = [UserResolver, ModelResolver, ChatResolver, ChatConnectionResolver, MessageResolver, ReplyResolver, SpeechResolver, SpeakResolver, AuthResolver, ApiKeyResolver, PaymentResolver, VirtualPayResolver, ChatImportResolver, AdminResolver, AdminUserFieldsResolver, AdminOrderFieldsResolver, RedeemResolver, UsageResolver, ReconciliationResolver] as const;

/** The schema of every transport, with the whole-operation input checks on its root fields (operation-checks.ts). */
export async function buildAppSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [...RESOLVERS],
    authChecker,
    validate: { forbidUnknownValues: false },
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    // Required by type-graphql for any subscription; ours use their own `subscribe` functions
    // over the reply hub, so this instance carries nothing.
    pubSub: createPubSub(),
  });
  return guardRootFields(schema);
}
