import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema } from 'type-graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { ApiKeyResolver } from '../resolvers/api-key.resolver';
import { AuthResolver } from '../resolvers/auth.resolver';
import { ChatConnectionResolver } from '../resolvers/chat-connection.resolver';
import { ChatResolver } from '../resolvers/chat.resolver';
import { MessageResolver } from '../resolvers/message.resolver';
import { PaymentResolver } from '../resolvers/payment.resolver';
import { ReplyResolver } from '../resolvers/reply.resolver';
import { SpeechResolver } from '../resolvers/speech.resolver';
import { ModelResolver } from '../resolvers/model.resolver';
import { UserResolver } from '../resolvers/user.resolver';
import { authChecker } from './auth-checker';

export const RESOLVERS = [UserResolver, ModelResolver, ChatResolver, ChatConnectionResolver, MessageResolver, ReplyResolver, SpeechResolver, AuthResolver, ApiKeyResolver, PaymentResolver] as const;

export function buildAppSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...RESOLVERS],
    authChecker,
    validate: { forbidUnknownValues: false },
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    // Required by type-graphql for any subscription; ours use their own `subscribe` functions
    // over the reply hub, so this instance carries nothing.
    pubSub: createPubSub(),
  });
}
